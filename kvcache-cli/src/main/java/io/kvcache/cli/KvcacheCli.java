package io.kvcache.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code kvcache} command. */
@Command(name = "kvcache", mixinStandardHelpOptions = true, version = "kvcache 0.1.0",
        description = "Run GGUF language models on the JVM: inspect, tokenize, generate, dump logits.",
        subcommands = {InfoCommand.class, TokenizeCommand.class, GenerateCommand.class, LogitsCommand.class,
            CommandLine.HelpCommand.class})
public final class KvcacheCli implements Runnable {
    @CommandLine.Spec
    @SuppressWarnings("NullAway.Init")
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line; returns the exit code (0 ok, 1 failure, 2 bad usage). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new KvcacheCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("kvcache: error: " + describe(e));
            commandLine.getErr().flush();
            return 1;
        });
        cli.setParameterExceptionHandler((e, args1) -> {
            CommandLine c = e.getCommandLine();
            c.getErr().println("kvcache: " + e.getMessage() + " (see 'kvcache " + c.getCommandName() + " --help')");
            c.getErr().flush();
            return 2;
        });
        try {
            return cli.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** One line: the exception's own message, which names the problem and the fix. */
    static String describe(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            m = e.getClass().getSimpleName();
        }
        return m.replace('\n', ' ');
    }
}
