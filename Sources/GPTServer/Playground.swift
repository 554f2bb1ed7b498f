/// The playground: one self-contained page (no external scripts or fonts) with two tabs over shared sampling
/// controls: Complete (a prompt box, streamed output, each token's probability on hover, via /v1/completions) and
/// Chat (a conversation with a system message, answers streamed from /v1/chat/completions); and the model's
/// configuration.
let playgroundPage = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>swift-gpt playground</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
main { max-width: 900px; margin: 0 auto; padding: 20px; }
h1 { font-size: 20px; margin: 0 0 12px; }
textarea { width: 100%; height: 90px; font: 14px ui-monospace, monospace; padding: 8px; box-sizing: border-box; }
.controls { display: flex; flex-wrap: wrap; gap: 14px; margin: 10px 0; align-items: end; }
label { font-size: 12px; display: flex; flex-direction: column; gap: 3px; }
input { width: 90px; padding: 4px; }
button { padding: 8px 18px; font-size: 14px; background: #1f5fbf; color: white; border: 0; border-radius: 4px; cursor: pointer; }
button:disabled { background: #8aa3c8; }
#output { white-space: pre-wrap; font: 14px/1.5 ui-monospace, monospace; background: white; border: 1px solid #d5d9e0;
  padding: 12px; min-height: 160px; border-radius: 4px; }
#output .prompt { color: #666; }
#output span.token:hover { background: #fde68a; }
#config { font: 12px ui-monospace, monospace; color: #555; margin-top: 14px; overflow-wrap: anywhere; white-space: pre-wrap; }
#status { font-size: 12px; color: #555; margin: 6px 0; }
.tabs { display: flex; gap: 6px; margin-bottom: 10px; }
.tabs button { background: #d5d9e0; color: #1d2330; }
.tabs button.active { background: #1f5fbf; color: white; }
.hidden { display: none; }
#system { width: 100%; box-sizing: border-box; padding: 6px; margin-bottom: 8px; font: 14px ui-monospace, monospace; }
#log { background: white; border: 1px solid #d5d9e0; border-radius: 4px; padding: 8px; min-height: 160px; margin-bottom: 8px; }
.turn { white-space: pre-wrap; font: 14px/1.5 ui-monospace, monospace; margin: 6px 0; padding: 6px 8px; border-radius: 4px; }
.turn.user { background: #e8eefb; } .turn.assistant { background: #f1f3f5; }
.turn b { font-family: system-ui, sans-serif; font-size: 12px; color: #555; display: block; }
</style></head>
<body><main>
<h1>swift-gpt playground</h1>
<div class="tabs"><button id="tab-complete" class="active">Complete</button><button id="tab-chat">Chat</button></div>
<div id="complete-pane"><textarea id="prompt" placeholder="Type a prompt, e.g. ROMEO:">ROMEO:</textarea></div>
<div id="chat-pane" class="hidden">
  <input id="system" placeholder="System message (optional)">
  <div id="log"></div>
  <textarea id="message" placeholder="Your message (Enter sends, Shift+Enter: new line)"></textarea>
  <button id="send">Send</button> <button id="reset">Reset</button>
</div>
<div class="controls">
  <label>max tokens <input id="max_tokens" type="number" value="200" min="1" max="4096"></label>
  <label>temperature <input id="temperature" type="number" value="0.8" step="0.1" min="0" max="2"></label>
  <label>top-k <input id="top_k" type="number" value="" min="1" placeholder="all"></label>
  <label>top-p <input id="top_p" type="number" value="1" step="0.05" min="0.01" max="1"></label>
  <label>seed <input id="seed" type="number" value="" min="0" placeholder="random"></label>
  <label>API key <input id="key" type="password" placeholder="if set"></label>
  <button id="go">Generate</button>
</div>
<div id="status"></div>
<div id="output"></div>
<div id="config"></div>
</main>
<script>
const $ = (id) => document.getElementById(id);
function headers() {
  const h = { "Content-Type": "application/json" };
  if ($("key").value) h["Authorization"] = "Bearer " + $("key").value;
  return h;
}
async function loadConfig() {
  const response = await fetch("/v1/models", { headers: headers() });
  if (!response.ok) { $("config").textContent = "model list: HTTP " + response.status; return; }
  const model = (await response.json()).data[0];
  $("config").textContent = "model " + model.id + "\n" + Object.entries(model.config)
    .map(([key, value]) => key + ": " + JSON.stringify(value)).join(" · ");
}
function show(text, logprobs) {
  const out = $("output");
  if (!logprobs) { out.append(document.createTextNode(text)); return; }
  logprobs.tokens.forEach((token, i) => {
    const span = document.createElement("span");
    span.className = "token";
    span.textContent = token;
    const alternatives = Object.entries(logprobs.top_logprobs[i] || {})
      .sort((a, b) => b[1] - a[1])  // most likely first (JSON objects keep no order)
      .map(([t, lp]) => JSON.stringify(t) + " " + (100 * Math.exp(lp)).toFixed(1) + "%").join("\n");
    span.title = "p = " + (100 * Math.exp(logprobs.token_logprobs[i])).toFixed(1) + "%\n" + alternatives;
    out.append(span);
  });
}
// Calls onChunk with each JSON object of a server-sent event stream; throws the error object of a failed stream.
async function readEvents(response, onChunk) {
  const reader = response.body.getReader(); const decoder = new TextDecoder(); let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const line = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const chunk = JSON.parse(line.slice(6));
      if (chunk.error) throw new Error(chunk.error.message);
      onChunk(chunk);
    }
  }
}
function sampling() {
  const body = { max_tokens: +$("max_tokens").value, temperature: +$("temperature").value, top_p: +$("top_p").value, stream: true };
  if ($("top_k").value) body.top_k = +$("top_k").value;
  if ($("seed").value !== "") body.seed = +$("seed").value;
  return body;
}
let chatMode = false;
function showTab(chat) {
  chatMode = chat;
  $("complete-pane").classList.toggle("hidden", chat); $("chat-pane").classList.toggle("hidden", !chat);
  $("output").classList.toggle("hidden", chat); $("go").classList.toggle("hidden", chat);
  $("tab-complete").classList.toggle("active", !chat); $("tab-chat").classList.toggle("active", chat);
}
$("tab-complete").onclick = () => showTab(false);
$("tab-chat").onclick = () => showTab(true);
let history = [];
function addTurn(role, text) {
  const div = document.createElement("div"); div.className = "turn " + role;
  const who = document.createElement("b"); who.textContent = role; div.append(who);
  const body = document.createElement("span"); body.textContent = text; div.append(body);
  $("log").append(div); return body;
}
$("reset").onclick = () => { history = []; $("log").innerHTML = ""; $("status").textContent = ""; };
$("message").onkeydown = (event) => { if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("send").click(); } };
$("send").onclick = async () => {
  const text = $("message").value; if (!text.trim()) return;
  $("message").value = ""; history.push({ role: "user", content: text }); addTurn("user", text);
  const answer = addTurn("assistant", "");
  const messages = ($("system").value ? [{ role: "system", content: $("system").value }] : []).concat(history);
  const body = Object.assign(sampling(), { messages: messages, stream_options: { include_usage: true } });
  $("send").disabled = true; $("status").textContent = "answering…";
  const started = performance.now(); let reply = "", finish = "", usage = null;
  try {
    const response = await fetch("/v1/chat/completions", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    if (!response.ok) { const e = await response.json(); throw new Error(e.error.message); }
    await readEvents(response, (chunk) => {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0]; if (!choice) return;
      if (choice.delta.content) { reply += choice.delta.content; answer.textContent = reply; }
      if (choice.finish_reason) finish = choice.finish_reason;
    });
    history.push({ role: "assistant", content: reply });
    $("status").textContent = (usage ? usage.completion_tokens + " tokens in " : "") + ((performance.now() - started) / 1000).toFixed(2)
      + " s · finish: " + finish + (finish === "length" ? " (max tokens or the model's context reached)" : "");
  } catch (error) { history.pop(); answer.parentNode.remove(); $("status").textContent = "error: " + error.message; }
  $("send").disabled = false;
};
$("go").onclick = async () => {
  const body = Object.assign(sampling(), { prompt: $("prompt").value, logprobs: 5 });
  $("output").innerHTML = "";
  const prompt = document.createElement("span"); prompt.className = "prompt"; prompt.textContent = body.prompt;
  $("output").append(prompt);
  $("go").disabled = true; $("status").textContent = "generating…";
  const started = performance.now(); let tokens = 0, seed = null;
  try {
    const response = await fetch("/v1/completions", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    if (!response.ok) { const e = await response.json(); throw new Error(e.error.message); }
    await readEvents(response, (chunk) => {
      if (chunk.warning) $("status").textContent = chunk.warning;
      if (chunk.seed !== undefined) seed = chunk.seed;
      const choice = chunk.choices[0];
      if (choice.text) { show(choice.text, choice.logprobs); tokens += choice.logprobs ? choice.logprobs.tokens.length : 1; }
    });
    $("status").textContent = tokens + " tokens in " + ((performance.now() - started) / 1000).toFixed(2) + " s"
      + (seed === null ? "" : " · seed " + seed + " (type it in the seed box to get this text again)");
  } catch (error) { $("status").textContent = "error: " + error.message; }
  $("go").disabled = false;
};
loadConfig();
// ?prompt=...&autorun=1 fills the prompt and generates at once (used by the headless-browser check).
const query = new URLSearchParams(location.search);
if (query.get("prompt")) $("prompt").value = query.get("prompt");
if (query.get("tab") === "chat") showTab(true);
if (query.get("message")) $("message").value = query.get("message");
if (query.get("autorun")) (chatMode ? $("send") : $("go")).click();
</script>
</body></html>
"""#
