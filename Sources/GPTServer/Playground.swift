/// The playground: one self-contained page (no external scripts or fonts) with a prompt box, sampling controls,
/// streamed output, the model's configuration, and each token's probability on hover.
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
</style></head>
<body><main>
<h1>swift-gpt playground</h1>
<textarea id="prompt" placeholder="Type a prompt, e.g. ROMEO:">ROMEO:</textarea>
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
$("go").onclick = async () => {
  const body = { prompt: $("prompt").value, max_tokens: +$("max_tokens").value, temperature: +$("temperature").value,
                 top_p: +$("top_p").value, stream: true, logprobs: 5 };
  if ($("top_k").value) body.top_k = +$("top_k").value;
  if ($("seed").value !== "") body.seed = +$("seed").value;
  $("output").innerHTML = "";
  const prompt = document.createElement("span"); prompt.className = "prompt"; prompt.textContent = body.prompt;
  $("output").append(prompt);
  $("go").disabled = true; $("status").textContent = "generating…";
  const started = performance.now(); let tokens = 0, seed = null;
  try {
    const response = await fetch("/v1/completions", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    if (!response.ok) { const e = await response.json(); throw new Error(e.error.message); }
    const reader = response.body.getReader(); const decoder = new TextDecoder(); let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const line = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.warning) $("status").textContent = chunk.warning;
        if (chunk.seed !== undefined) seed = chunk.seed;
        const choice = chunk.choices[0];
        if (choice.text) { show(choice.text, choice.logprobs); tokens += choice.logprobs ? choice.logprobs.tokens.length : 1; }
      }
    }
    $("status").textContent = tokens + " tokens in " + ((performance.now() - started) / 1000).toFixed(2) + " s"
      + (seed === null ? "" : " · seed " + seed + " (type it in the seed box to get this text again)");
  } catch (error) { $("status").textContent = "error: " + error.message; }
  $("go").disabled = false;
};
loadConfig();
// ?prompt=...&autorun=1 fills the prompt and generates at once (used by the headless-browser check).
const query = new URLSearchParams(location.search);
if (query.get("prompt")) $("prompt").value = query.get("prompt");
if (query.get("autorun")) $("go").click();
</script>
</body></html>
"""#
