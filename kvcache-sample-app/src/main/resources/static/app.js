// kvcache sample page: streams POST /api/generate (Server-Sent Events over fetch) and polls
// /actuator/kvcache for the cache occupancy. No build step, no dependencies.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { controller: null, sessionId: null, polling: null, generating: false };

function formatBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
}

async function loadInfo() {
  try {
    const info = await (await fetch('api/info')).json();
    const m = info.model;
    $('model-info').textContent = `${m.name} · ${m.architecture} · ${m.layers} layers · dim ${m.embedding_length}`
      + ` · vocab ${m.vocabulary_size} · context ${info.cache.context_length} · ${m.threads} threads`;
    $('cache-strategy').textContent = `${info.cache.strategy} · block ${info.cache.block_size} tokens`
      + ` · ${formatBytes(info.cache.bytes_per_token)}/token · max ${info.cache.max_sequences} sequences`;
    if (info.demo) {
      $('demo-notice').textContent = info.notice;
      $('demo-banner').hidden = false;
    }
  } catch (e) {
    $('model-info').textContent = 'could not load /api/info: ' + e;
  }
}

// ---- KV cache view ----

function renderCache(c) {
  const s = c.stats;
  const total = Math.max(1, s.blocksTotal);
  $('bar-used').style.width = (100 * s.blocksUsed / total) + '%';
  $('bar-cached').style.width = (100 * s.blocksCached / total) + '%';
  const bar = $('cache-bar');
  bar.dataset.used = s.blocksUsed;
  bar.dataset.cached = s.blocksCached;
  bar.dataset.sequences = s.sequences;
  bar.title = `${s.blocksUsed} used, ${s.blocksCached} cached, ${s.blocksFree} free of ${s.blocksTotal} blocks`;
  $('blocks-used').textContent = s.blocksUsed;
  $('blocks-cached').textContent = s.blocksCached;
  $('blocks-free').textContent = s.blocksFree;
  $('blocks-total').textContent = s.blocksTotal;
  $('cache-sequences').textContent = s.sequences;
  $('cache-tokens').textContent = s.tokens;
  $('cache-bytes').textContent = `${formatBytes(s.bytesUsed)} of ${formatBytes(s.bytesBudget)} (${formatBytes(s.bytesReserved)} reserved)`;
  $('cache-hit-rate').textContent = s.prefixQueryTokens ? (100 * s.prefixHitRate).toFixed(1) + ' %' : '–';
  $('cache-evictions').textContent = `${s.evictions} / ${s.preemptions}`;
  const rows = $('sequence-rows');
  rows.replaceChildren();
  if (!c.sequences || c.sequences.length === 0) {
    const tr = rows.insertRow();
    const td = tr.insertCell();
    td.colSpan = 5; td.className = 'muted'; td.textContent = 'no live sequences';
  } else {
    for (const q of c.sequences) {
      const tr = rows.insertRow();
      for (const v of [q.id, q.tokens, q.blocks, q.sharedBlocks, q.ageSeconds.toFixed(1) + ' s']) {
        tr.insertCell().textContent = v;
      }
    }
  }
}

async function pollCache() {
  try {
    const r = await fetch('actuator/kvcache', { cache: 'no-store' });
    if (r.ok) renderCache(await r.json());
  } catch (e) { /* the server may be restarting; try again on the next tick */ }
  state.polling = setTimeout(pollCache, state.generating ? 200 : 1000);
}

// ---- generation ----

function setRunning(running) {
  state.generating = running;
  $('generate').disabled = running;
  $('stop-button').disabled = !running;
  $('output').classList.toggle('running', running);
  if (running) { clearTimeout(state.polling); pollCache(); }
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
}

function requestBody() {
  const body = { prompt: $('prompt').value, max_tokens: Number($('max-tokens').value) };
  for (const [id, key] of [['temperature', 'temperature'], ['top-p', 'top_p'], ['top-k', 'top_k'], ['seed', 'seed']]) {
    if ($(id).value !== '') body[key] = Number($(id).value);
  }
  if ($('stop').value !== '') body.stop = $('stop').value.replace(/\\n/g, '\n');
  if ($('conversation').checked) {
    state.sessionId = state.sessionId || ('page-' + Math.random().toString(36).slice(2, 12));
    body.session_id = state.sessionId;
  }
  return body;
}

// Yields {event, data} for each Server-Sent Event of a fetch response body.
async function* serverSentEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
      if (data.length) yield { event, data: data.join('\n') };
    }
  }
}

async function generate() {
  const body = requestBody();
  const output = $('output');
  $('error').hidden = true;
  if (!$('conversation').checked || !output.dataset.conversation) {
    output.replaceChildren();
  }
  output.dataset.conversation = $('conversation').checked ? '1' : '';
  const echo = document.createElement('span');
  echo.className = 'prompt-echo';
  echo.textContent = body.prompt;
  output.append(echo);
  const generated = document.createTextNode('');
  output.append(generated);
  for (const id of ['ttft', 'tps', 'prompt-tokens', 'stop-reason']) $(id).textContent = '…';
  $('token-count').textContent = '0';

  state.controller = new AbortController();
  const signal = state.controller.signal;
  setRunning(true);
  const start = performance.now();
  let firstTokenAt = 0;
  let tokens = 0;
  let frameRequested = false;
  try {
    const response = await fetch('api/generate', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'text/event-stream' },
      body: JSON.stringify(body),
      signal,
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => null);
      const retry = response.headers.get('Retry-After');
      showError(`${response.status}: ${problem?.error?.message ?? response.statusText}`
        + (retry ? ` (retry after ${retry} s)` : ''));
      return;
    }
    for await (const { event, data } of serverSentEvents(response)) {
      // Stop means stop now: events already received but not yet shown (a backlog on a busy
      // machine) are dropped instead of being rendered after the click.
      if (signal.aborted) throw new DOMException('Stopped by the user', 'AbortError');
      const payload = JSON.parse(data);
      if (event === 'message') {
        tokens++;
        if (!firstTokenAt) {
          firstTokenAt = performance.now();
          $('ttft').textContent = (firstTokenAt - start).toFixed(0) + ' ms';
          // The sequence exists now: show it without waiting for the next tick.
          clearTimeout(state.polling);
          pollCache();
        }
        generated.appendData(payload.text);
        // Scrolling forces a layout: do it (and the counters) once per frame, not once per token,
        // so a fast model cannot flood the page and a click on Stop is handled at once.
        if (!frameRequested) {
          frameRequested = true;
          requestAnimationFrame(() => {
            frameRequested = false;
            output.scrollTop = output.scrollHeight;
            $('token-count').textContent = tokens;
            if (tokens > 1) {
              $('tps').textContent = ((tokens - 1) / ((performance.now() - firstTokenAt) / 1000)).toFixed(1);
            }
          });
        }
      } else if (event === 'done') {
        const u = payload.usage;
        $('ttft').textContent = u.time_to_first_token_ms.toFixed(0) + ' ms';
        $('tps').textContent = u.tokens_per_second.toFixed(1);
        $('token-count').textContent = u.completion_tokens;
        $('prompt-tokens').textContent = `${u.prompt_tokens} (${u.cached_tokens})`;
        $('stop-reason').textContent = payload.stop_reason.replace(/_/g, ' ');
      } else if (event === 'error') {
        showError(payload.error.message);
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') {
      $('stop-reason').textContent = 'stopped';
    } else {
      showError(String(e));
    }
  } finally {
    setRunning(false);
    state.controller = null;
  }
}

$('generate').addEventListener('click', generate);
$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !state.generating) generate();
});
$('stop-button').addEventListener('click', () => state.controller?.abort());
$('new-conversation').addEventListener('click', async () => {
  if (state.sessionId) {
    await fetch('api/sessions/' + encodeURIComponent(state.sessionId), { method: 'DELETE' });
  }
  state.sessionId = null;
  $('output').replaceChildren();
  $('output').dataset.conversation = '';
});

loadInfo();
pollCache();
