// The Synthesize tab's mask canvas, run by gr.HTML's js_on_load with (element, trigger, props, server, upload, watch).
// The mask is a grid of class ids drawn in the checkpoint's colours. Every edit ends by writing props.value (the
// canvas value of mask_canvas.py), which Generate reads; with Live preview on, the first seed's tile is fetched through
// server.live_preview: at most one request in flight, and when it returns, one more for the newest mask if it changed.
const root = element.querySelector("[data-mask-canvas]");
const view = root.querySelector("canvas.mc-view");
const viewCtx = view.getContext("2d");
const scroll = root.querySelector(".mc-scroll");
const classBar = root.querySelector(".mc-classes");
const sizeInput = root.querySelector("[data-size]");
const sizeOut = root.querySelector("[data-size-out]");
const zoomOut = root.querySelector("[data-zoom-out]");
const outlinesBox = root.querySelector("[data-outlines]");
const liveBox = root.querySelector("[data-live]");
const tileImg = root.querySelector("[data-tile]");
const previewNote = root.querySelector("[data-preview-status]");
const infoNote = root.querySelector("[data-info]");

const HISTORY = 60;  // undo steps kept; a 1024² mask is 1 MB each
const ZOOMS = [1, 1.5, 2, 3, 4, 6, 8];
const SIZE_MAX = 60;

let w = 256, h = 256, ids = new Uint8Array(w * h);
let classes = ["background", "nucleus"], colours = [[0, 0, 0], [255, 255, 255]];
let current = 1, tool = "brush", zoomIndex = 0;
const undoStack = [], redoStack = [];
let image = viewCtx.createImageData(w, h);
let drawing = null;  // {x, y} of the last pointer position while a stroke is under way
let renderQueued = false;
let written = props.value;  // the value this page last wrote or loaded: an update equal to it is not a load

// What the browser test reads: per stroke its end-to-screen time and split, and the requests made.
const stats = {strokes: [], requests: 0, inFlight: 0, maxInFlight: 0};
root.maskCanvas = {
  stats,
  get ids() { return ids; },
  get size() { return [w, h]; },
  get busy() { return inFlight || dirty || loading; },
};

// ---- drawing -----------------------------------------------------------------------------------------------
function stamp(cx, cy, value) {
  const r = brushSize() / 2;
  const x0 = Math.max(0, Math.floor(cx - r)), x1 = Math.min(w - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r)), y1 = Math.min(h - 1, Math.ceil(cy + r));
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      if (dx * dx + dy * dy <= r * r) ids[y * w + x] = value;
    }
  }
  const px = Math.floor(cx), py = Math.floor(cy);  // a 1-px brush still marks the pixel under the pointer
  if (px >= 0 && px < w && py >= 0 && py < h) ids[py * w + px] = value;
}

function line(from, to, value) {
  const dist = Math.hypot(to.x - from.x, to.y - from.y);
  const steps = Math.max(1, Math.ceil(dist / Math.max(0.5, brushSize() / 4)));
  for (let i = 1; i <= steps; i++) stamp(from.x + (to.x - from.x) * i / steps, from.y + (to.y - from.y) * i / steps, value);
}

function fill(px, py, value) {
  // Scanline flood fill of the 4-connected region under (px, py).
  const target = ids[py * w + px];
  if (target === value) return false;
  const stack = [[px, py]];
  while (stack.length) {
    let [x, y] = stack.pop();
    while (x > 0 && ids[y * w + x - 1] === target) x--;
    let up = false, down = false;
    for (; x < w && ids[y * w + x] === target; x++) {
      ids[y * w + x] = value;
      if (y > 0) {
        const t = ids[(y - 1) * w + x] === target;
        if (t && !up) stack.push([x, y - 1]);
        up = t;
      }
      if (y < h - 1) {
        const t = ids[(y + 1) * w + x] === target;
        if (t && !down) stack.push([x, y + 1]);
        down = t;
      }
    }
  }
  return true;
}

function brushSize() { return Number(sizeInput.value) || 1; }
function paintValue() { return tool === "eraser" ? 0 : current; }

function maskPoint(event) {
  const box = view.getBoundingClientRect();
  return {x: (event.clientX - box.left) / box.width * w, y: (event.clientY - box.top) / box.height * h};
}

view.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  event.preventDefault();
  view.focus({preventScroll: true});
  const p = maskPoint(event);
  if (tool === "fill") {
    const x = Math.floor(p.x), y = Math.floor(p.y);
    if (x < 0 || x >= w || y < 0 || y >= h) return;
    const before = ids.slice();
    if (fill(x, y, current)) { remember(before); edited(performance.now()); }
    return;
  }
  view.setPointerCapture(event.pointerId);
  remember(ids.slice());
  drawing = p;
  stamp(p.x, p.y, paintValue());
  queueRender();
});

view.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) {
    const p = maskPoint(e);
    line(drawing, p, paintValue());
    drawing = p;
  }
  queueRender();
});

function endStroke(event) {
  if (!drawing) return;
  drawing = null;
  if (view.hasPointerCapture(event.pointerId)) view.releasePointerCapture(event.pointerId);
  edited(performance.now());
}
view.addEventListener("pointerup", endStroke);
view.addEventListener("pointercancel", endStroke);

// ---- history -----------------------------------------------------------------------------------------------
function remember(before) {
  undoStack.push({w, h, ids: before});
  if (undoStack.length > HISTORY) undoStack.shift();
  redoStack.length = 0;
  updateButtons();
}

function restore(from, to) {
  const state = from.pop();
  if (!state) return;
  to.push({w, h, ids});
  setMask(state.w, state.h, state.ids);
  edited(performance.now());
}

// ---- rendering ---------------------------------------------------------------------------------------------
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function render() {
  const data = image.data;
  const outlines = outlinesBox.checked;
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      const id = ids[i];
      const c = colours[id] || colours[0];
      let k = 1;
      if (outlines && id !== 0) {  // interior pixels dimmed: only the boundary of each region keeps its colour
        const edge = x === 0 || y === 0 || x === w - 1 || y === h - 1 || ids[i - 1] !== id || ids[i + 1] !== id ||
          ids[i - w] !== id || ids[i + w] !== id;
        if (!edge) k = 0.18;
      }
      const o = i * 4;
      data[o] = c[0] * k; data[o + 1] = c[1] * k; data[o + 2] = c[2] * k; data[o + 3] = 255;
    }
  }
  viewCtx.putImageData(image, 0, 0);
}

function setMask(newW, newH, newIds) {
  if (newW !== w || newH !== h) {
    w = newW; h = newH;
    view.width = w; view.height = h;
    image = viewCtx.createImageData(w, h);
  }
  ids = newIds;
  render();
  updateButtons();
  updateInfo();
}

// ---- the value: a PNG of ids (first channel) inside the canvas value's JSON --------------------------------
const encoder = document.createElement("canvas");
const encoderCtx = encoder.getContext("2d", {willReadFrequently: true});

function encodeValue() {
  encoder.width = w; encoder.height = h;
  const out = encoderCtx.createImageData(w, h);
  const d = out.data;
  for (let i = 0; i < ids.length; i++) { const o = i * 4; d[o] = d[o + 1] = d[o + 2] = ids[i]; d[o + 3] = 255; }
  encoderCtx.putImageData(out, 0, 0);
  return JSON.stringify({classes, colours, ids: encoder.toDataURL("image/png")});
}

async function decodeIds(url) {
  const im = new Image();
  im.src = url;
  await im.decode();
  encoder.width = im.naturalWidth; encoder.height = im.naturalHeight;
  encoderCtx.drawImage(im, 0, 0);
  const d = encoderCtx.getImageData(0, 0, im.naturalWidth, im.naturalHeight).data;
  const out = new Uint8Array(im.naturalWidth * im.naturalHeight);
  for (let i = 0; i < out.length; i++) out[i] = d[i * 4];
  return {w: im.naturalWidth, h: im.naturalHeight, ids: out};
}

// An edit is done: write the value for Generate, and ask for a preview of it.
function edited(strokeEnd) {
  render();
  written = encodeValue();
  props.value = written;
  updateButtons();
  updateInfo();
  requestPreview(strokeEnd);
}

let loading = false;
async function load(value, initial = false) {
  // A value from the app (upload, example, random layout, another size or scheme): shown, and undoable.
  let parsed;
  try { parsed = JSON.parse(value); } catch (e) { return; }
  loading = true;
  written = value;
  try {
    const mask = await decodeIds(parsed.ids);
    const sameScheme = JSON.stringify(parsed.classes) === JSON.stringify(classes);
    if (sameScheme && !initial) remember(ids.slice());
    else { undoStack.length = 0; redoStack.length = 0; }  // another checkpoint's classes: old states would not fit
    classes = parsed.classes; colours = parsed.colours;
    if (!sameScheme) buildClassBar();
    setMask(mask.w, mask.h, mask.ids);
    requestPreview(null);
  } finally {
    loading = false;
  }
}

// ---- live preview ------------------------------------------------------------------------------------------
let inFlight = false, dirty = false;
let waiting = [];  // stroke ends not yet covered by a request

function requestPreview(strokeEnd) {
  if (strokeEnd !== null) waiting.push(strokeEnd);
  if (!liveBox.checked) { waiting = []; return; }
  if (!ids.some((v) => v !== 0)) {
    previewNote.textContent = "Draw nuclei: the first seed's tile follows each stroke.";
    previewNote.classList.remove("error");
    waiting = [];
    return;
  }
  if (inFlight) { dirty = true; return; }
  sendPreview();
}

async function sendPreview() {
  inFlight = true; dirty = false;
  const covered = waiting; waiting = [];
  const request = {canvas: written, checkpoint: props.checkpoint || "", seed: props.seed, overlay: !!props.overlay};
  stats.requests++;
  stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
  let reply;
  const t1 = performance.now();
  try {
    reply = await server.live_preview(request);
  } catch (e) {
    reply = {error: "The preview request failed; the app may have restarted. Reload the page."};
  }
  const t2 = performance.now();
  stats.inFlight--;
  if (reply && reply.tile) {
    const next = new Image();
    next.src = reply.tile;
    try { await next.decode(); } catch (e) { /* shown below anyway */ }
    tileImg.src = reply.tile;
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
    const t3 = performance.now();
    const t = reply.timings || {};
    // page: stroke end to request sent (the mask's PNG, and any wait for the request before); request: the round
    // trip less the server's time; decode: the reply's tile decoded and painted.
    const entry = {request_ms: t2 - t1 - (t.server_ms || 0), server_ms: t.server_ms || 0,
                   synthesis_ms: t.synthesis_ms || 0, decode_ms: t3 - t2, seed: reply.seed};
    for (const end of covered) stats.strokes.push({...entry, page_ms: t1 - end, stroke_to_tile_ms: t3 - end});
    tileImg.dataset.seed = reply.seed;
    previewNote.textContent = `${reply.summary} · shown ${Math.round(t3 - (covered.length ? covered[covered.length - 1] : t1))} ms after ${covered.length ? "the stroke" : "the request"}`;
    previewNote.classList.remove("error");
  } else {
    previewNote.textContent = (reply && reply.error) || "No preview.";
    previewNote.classList.add("error");
  }
  inFlight = false;
  if (dirty || waiting.length) sendPreview();
}

// ---- toolbar -----------------------------------------------------------------------------------------------
function buildClassBar() {
  classBar.replaceChildren();
  for (let k = 1; k < classes.length; k++) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.class = String(k);
    b.title = k <= 9 ? `${classes[k]} (${k})` : classes[k];
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = `rgb(${colours[k].join(",")})`;
    b.append(sw, document.createTextNode(classes[k]));
    if (k <= 9) { const kbd = document.createElement("kbd"); kbd.textContent = String(k); b.append(kbd); }
    b.addEventListener("click", () => chooseClass(k));
    classBar.append(b);
  }
  if (current >= classes.length) current = 1;
  updateButtons();
}

function chooseClass(k) {
  if (k < 1 || k >= classes.length) return;
  current = k;
  if (tool === "eraser") tool = "brush";
  updateButtons();
}

function chooseTool(name) { tool = name; updateButtons(); }

function setSize(n) {
  sizeInput.value = String(Math.max(1, Math.min(SIZE_MAX, n)));
  sizeOut.textContent = sizeInput.value;
}

function setZoom(index) {
  zoomIndex = Math.max(0, Math.min(ZOOMS.length - 1, index));
  const centre = {x: (scroll.scrollLeft + scroll.clientWidth / 2) / scroll.scrollWidth,
                  y: (scroll.scrollTop + scroll.clientHeight / 2) / scroll.scrollHeight};
  view.style.setProperty("--mc-zoom", String(ZOOMS[zoomIndex]));
  scroll.scrollLeft = centre.x * scroll.scrollWidth - scroll.clientWidth / 2;
  scroll.scrollTop = centre.y * scroll.scrollHeight - scroll.clientHeight / 2;
  zoomOut.textContent = `${Math.round(ZOOMS[zoomIndex] * 100)}%`;
}

function updateButtons() {
  for (const b of classBar.querySelectorAll("button")) {
    b.setAttribute("aria-pressed", String(tool !== "eraser" && Number(b.dataset.class) === current));
  }
  for (const b of root.querySelectorAll("[data-tool]")) b.setAttribute("aria-pressed", String(b.dataset.tool === tool));
  root.querySelector("[data-act='undo']").disabled = !undoStack.length;
  root.querySelector("[data-act='redo']").disabled = !redoStack.length;
}

// The mask's size and class shares under the canvas: counted once per edit, not on every button change.
function updateInfo() {
  const counts = new Map();
  for (let i = 0; i < ids.length; i++) if (ids[i]) counts.set(ids[i], (counts.get(ids[i]) || 0) + 1);
  const shares = [...counts.entries()].sort((a, b) => a[0] - b[0])
    .map(([k, n]) => `${classes[k] || k} ${(100 * n / ids.length).toFixed(1)}%`);
  infoNote.textContent = `${w}×${h} px · ${shares.length ? shares.join(", ") : "background only"}`;
}

for (const b of root.querySelectorAll("[data-tool]")) b.addEventListener("click", () => chooseTool(b.dataset.tool));
root.querySelector("[data-act='undo']").addEventListener("click", () => restore(undoStack, redoStack));
root.querySelector("[data-act='redo']").addEventListener("click", () => restore(redoStack, undoStack));
root.querySelector("[data-act='clear']").addEventListener("click", () => {
  if (!ids.some((v) => v !== 0)) return;
  remember(ids.slice());
  ids = new Uint8Array(w * h);
  edited(performance.now());
});
root.querySelector("[data-act='zoom-in']").addEventListener("click", () => setZoom(zoomIndex + 1));
root.querySelector("[data-act='zoom-out']").addEventListener("click", () => setZoom(zoomIndex - 1));
sizeInput.addEventListener("input", () => setSize(Number(sizeInput.value)));
outlinesBox.addEventListener("change", render);
liveBox.addEventListener("change", () => requestPreview(null));

function sizeStep(n) { return n < 10 ? 1 : n < 20 ? 2 : 4; }

const NOT_TYPED = ["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"];
function typing(t) {
  return !!t && (t.isContentEditable || t.tagName === "TEXTAREA" || t.tagName === "SELECT" ||
    (t.tagName === "INPUT" && !NOT_TYPED.includes(t.type)));
}

// Keys work anywhere on the page except while typing in a field.
document.addEventListener("keydown", (event) => {
  if (!root.isConnected || typing(event.target)) return;
  const key = event.key;
  const mod = event.ctrlKey || event.metaKey;
  if (mod && (key === "z" || key === "Z")) {
    if (event.shiftKey) restore(redoStack, undoStack); else restore(undoStack, redoStack);
  } else if (mod && (key === "y" || key === "Y")) {
    restore(redoStack, undoStack);
  } else if (mod || event.altKey) {
    return;
  } else if (/^[1-9]$/.test(key) && Number(key) < classes.length) {
    chooseClass(Number(key));
  } else if (key === "[") {
    setSize(brushSize() - sizeStep(brushSize() - 1));
  } else if (key === "]") {
    setSize(brushSize() + sizeStep(brushSize()));
  } else if (key === "b" || key === "B") {
    chooseTool("brush");
  } else if (key === "f" || key === "F") {
    chooseTool("fill");
  } else if (key === "e" || key === "E") {
    chooseTool("eraser");
  } else if (key === "o" || key === "O") {
    outlinesBox.checked = !outlinesBox.checked; render();
  } else if (key === "+" || key === "=") {
    setZoom(zoomIndex + 1);
  } else if (key === "-") {
    setZoom(zoomIndex - 1);
  } else {
    return;
  }
  event.preventDefault();
});

// ---- updates from the app ----------------------------------------------------------------------------------
watch("value", () => { if (props.value !== written) load(props.value); });
watch(["checkpoint", "seed", "overlay"], () => requestPreview(null));

buildClassBar();
setSize(brushSize());
if (props.value) load(props.value, true); else render();
