// carreta replay player: vanilla JavaScript and one <canvas>, no dependencies, no network.
// Reads the run from the JSON block #carreta-data (see sim/replay.py for its layout) and shows
// text with textContent only. Exposes a read-only hook, window.carretaReplay, for tests.
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("carreta-data").textContent);
  const Q = data.quantum_deg;
  const TQ = data.time_quantum_s;
  const START = data.start_s;
  const END = data.end_s;
  const LAT0 = (data.origin[1] * Q) * Math.PI / 180;
  const KX = Math.cos(LAT0); // world units: 1e-5 degree of latitude, x shrunk by cos(lat)

  // ---- decoding -------------------------------------------------------------------------
  function undelta(values, scale, offset) {
    const out = new Float64Array(values.length);
    let sum = 0;
    for (let i = 0; i < values.length; i++) { sum += values[i]; out[i] = offset + sum * scale; }
    return out;
  }
  function undeltaPairs(values) { // [x0, y0, dx, dy, ...] -> world x and y arrays
    const n = values.length >> 1;
    const xs = new Float64Array(n), ys = new Float64Array(n);
    let x = 0, y = 0;
    for (let i = 0; i < n; i++) {
      x += values[2 * i]; y += values[2 * i + 1];
      xs[i] = x * KX; ys[i] = y;
    }
    return { xs: xs, ys: ys };
  }
  const vertices = undeltaPairs(data.vertices);
  const streets = data.streets.map(undeltaPairs);
  const hubs = data.hubs.map(function (h) { return { id: h.id, x: h.x * KX, y: h.y }; });
  const nStates = data.states.length;
  const busyStates = new Set(data.busy_states);

  const robots = data.robots.map(function (r) {
    const legs = r.legs.map(function (leg) {
      const t = undelta(leg.t, TQ, START);
      const v = undelta(leg.v, 1, 0);
      return { kind: leg.k, t: t, v: Int32Array.from(v), n: leg.n || null };
    });
    const legStart = Float64Array.from(legs, function (l) { return l.t[0]; });
    return {
      id: r.id, type: r.type, hub: r.hub,
      homeX: r.home[0] * KX, homeY: r.home[1],
      legs: legs, legStart: legStart,
      stateTimes: undelta(r.st, TQ, START), stateCodes: Int32Array.from(r.sc),
      orderStart: Float64Array.from(r.orders, function (o) { return START + o[0] * TQ; }),
      orderEnd: Float64Array.from(r.orders, function (o) { return START + o[1] * TQ; }),
      orderId: r.orders.map(function (o) { return o[2]; }),
    };
  });
  const doors = {
    xs: Float64Array.from(data.doors.x, function (x) { return x * KX; }),
    ys: Float64Array.from(data.doors.y),
    created: undelta(data.doors.c, TQ, START),
    end: Float64Array.from(data.doors.e, function (e) { return e < 0 ? Infinity : START + e * TQ; }),
    delivered: Uint8Array.from(data.doors.d),
  };
  const created = undelta(data.orders.created, TQ, START);
  const left = undelta(data.orders.left, TQ, START);
  const delivered = undelta(data.orders.delivered, TQ, START);

  // ---- queries (pure functions of the time) ----------------------------------------------
  function upperBound(array, value) { // first index whose element is > value
    let lo = 0, hi = array.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (array[mid] <= value) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function positionOf(robot, t, out) { // world x, y of a robot at time t
    const i = upperBound(robot.legStart, t) - 1;
    if (i < 0) { out[0] = robot.homeX; out[1] = robot.homeY; return -1; }
    const leg = robot.legs[i];
    const last = leg.t.length - 1;
    if (t >= leg.t[last]) {
      const v = leg.v[last];
      out[0] = vertices.xs[v]; out[1] = vertices.ys[v];
      return -1;
    }
    const j = upperBound(leg.t, t) - 1;
    const t0 = leg.t[j], t1 = leg.t[j + 1];
    const f = t1 > t0 ? (t - t0) / (t1 - t0) : 1;
    const a = leg.v[j], b = leg.v[j + 1];
    out[0] = vertices.xs[a] + f * (vertices.xs[b] - vertices.xs[a]);
    out[1] = vertices.ys[a] + f * (vertices.ys[b] - vertices.ys[a]);
    return j;
  }
  function stateOf(robot, t) {
    const i = upperBound(robot.stateTimes, t) - 1;
    return i < 0 ? 0 : robot.stateCodes[i];
  }
  function orderOf(robot, t) {
    const i = upperBound(robot.orderStart, t) - 1;
    return i >= 0 && t < robot.orderEnd[i] ? robot.orderId[i] : null;
  }
  function streetOf(robot, t) {
    const i = upperBound(robot.legStart, t) - 1;
    if (i < 0) return "";
    const leg = robot.legs[i];
    if (!leg.n || t >= leg.t[leg.t.length - 1]) return "";
    const j = Math.min(upperBound(leg.t, t) - 1, leg.n.length - 1);
    return data.names[leg.n[j]] || "";
  }
  function counters(t) {
    let busy = 0;
    const perState = new Array(nStates).fill(0);
    for (const robot of robots) {
      const s = stateOf(robot, t);
      perState[s]++;
      if (busyStates.has(s)) busy++;
    }
    return {
      delivered: upperBound(delivered, t),
      waiting: upperBound(created, t) - upperBound(left, t),
      busy: busy,
      perState: perState,
    };
  }
  function lonLat(x, y) { return [(x / KX + data.origin[0]) * Q, (y + data.origin[1]) * Q]; }

  // ---- view ------------------------------------------------------------------------------
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const background = document.createElement("canvas");
  const view = { cx: 0, cy: 0, scale: 1, width: 1, height: 1, ratio: 1 };
  const bounds = (function () {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    function add(x, y) { if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y; }
    for (let i = 0; i < vertices.xs.length; i++) add(vertices.xs[i], vertices.ys[i]);
    for (const h of hubs) add(h.x, h.y);
    if (!isFinite(x0)) for (const s of streets) for (let i = 0; i < s.xs.length; i++) add(s.xs[i], s.ys[i]);
    if (!isFinite(x0)) { x0 = y0 = -100; x1 = y1 = 100; }
    return { x0: x0, y0: y0, x1: x1, y1: y1 };
  })();
  function fit() {
    const w = Math.max(bounds.x1 - bounds.x0, 50), h = Math.max(bounds.y1 - bounds.y0, 50);
    view.cx = (bounds.x0 + bounds.x1) / 2; view.cy = (bounds.y0 + bounds.y1) / 2;
    view.scale = 0.92 * Math.min(view.width / w, view.height / h);
  }
  function sx(x) { return (x - view.cx) * view.scale + view.width / 2; }
  function sy(y) { return (view.cy - y) * view.scale + view.height / 2; }

  function drawBackground() {
    const r = view.ratio;
    background.width = Math.round(view.width * r); background.height = Math.round(view.height * r);
    const b = background.getContext("2d");
    b.setTransform(r, 0, 0, r, 0, 0);
    b.fillStyle = "#f7f7f5"; b.fillRect(0, 0, view.width, view.height);
    b.strokeStyle = "#b9b9b9"; b.lineWidth = Math.max(0.6, Math.min(2.5, view.scale * 2.5)); b.lineJoin = "round";
    b.beginPath();
    for (const s of streets) {
      b.moveTo(sx(s.xs[0]), sy(s.ys[0]));
      for (let i = 1; i < s.xs.length; i++) b.lineTo(sx(s.xs[i]), sy(s.ys[i]));
    }
    b.stroke();
    for (const h of hubs) drawStar(b, sx(h.x), sy(h.y), 11);
    b.font = "600 13px system-ui, sans-serif"; b.fillStyle = "#1d2330";
    for (const h of hubs) b.fillText(h.id, sx(h.x) + 13, sy(h.y) - 9);
    drawScaleBar(b);
  }
  function drawStar(b, x, y, radius) {
    b.beginPath();
    for (let i = 0; i < 10; i++) {
      const a = Math.PI / 2 + i * Math.PI / 5, rr = i % 2 ? radius * 0.45 : radius;
      b.lineTo(x + rr * Math.cos(a), y - rr * Math.sin(a));
    }
    b.closePath(); b.fillStyle = "#ffcc00"; b.fill(); b.strokeStyle = "#000"; b.lineWidth = 1.3; b.stroke();
  }
  function drawScaleBar(b) {
    const metresPerUnit = 1.11195; // 1e-5 degree of latitude
    const target = 120 / view.scale * metresPerUnit;
    const steps = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
    let metres = steps[0];
    for (const s of steps) if (s <= target) metres = s;
    const px = metres / metresPerUnit * view.scale;
    const x = view.width - px - 16, y = view.height - 18;
    b.fillStyle = "rgba(255,255,255,.85)"; b.fillRect(x - 6, y - 18, px + 12, 26);
    b.strokeStyle = "#000"; b.lineWidth = 3; b.beginPath(); b.moveTo(x, y); b.lineTo(x + px, y); b.stroke();
    b.fillStyle = "#000"; b.font = "12px system-ui, sans-serif"; b.textAlign = "center";
    b.fillText(metres >= 1000 ? metres / 1000 + " km" : metres + " m", x + px / 2, y - 6);
    b.textAlign = "start";
  }
  function resize() {
    const rect = canvas.getBoundingClientRect();
    const firstTime = view.width === 1;
    view.ratio = window.devicePixelRatio || 1;
    view.width = Math.max(rect.width, 50); view.height = Math.max(rect.height, 50);
    canvas.width = Math.round(view.width * view.ratio); canvas.height = Math.round(view.height * view.ratio);
    if (firstTime) fit();
    drawBackground();
    draw();
  }

  // ---- state and drawing ------------------------------------------------------------------
  const state = { t: START, playing: false, speed: 300, selected: -1, last: null };
  const px = new Float64Array(robots.length), py = new Float64Array(robots.length);
  const codes = new Int32Array(robots.length);
  const point = [0, 0];
  const el = function (id) { return document.getElementById(id); };
  const legendCounts = [];

  function clock(t) {
    const m = Math.floor(t / 60 + 1e-9);
    return String(Math.floor(m / 60) % 24).padStart(2, "0") + ":" + String(m % 60).padStart(2, "0");
  }
  function draw() {
    const t = state.t, r = view.ratio;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(background, 0, 0);
    ctx.setTransform(r, 0, 0, r, 0, 0);
    for (let i = 0; i < robots.length; i++) {
      positionOf(robots[i], t, point);
      px[i] = sx(point[0]); py[i] = sy(point[1]); codes[i] = stateOf(robots[i], t);
    }
    drawDoors(t);
    if (state.selected >= 0) drawRoute(robots[state.selected], t);
    const radius = robots.length > 300 ? 3 : robots.length > 50 ? 5 : 7;
    ctx.lineWidth = 1; ctx.strokeStyle = "rgba(0,0,0,.55)";
    for (let s = 0; s < nStates; s++) { // one path per state colour
      ctx.beginPath();
      for (let i = 0; i < robots.length; i++) {
        if (codes[i] !== s) continue;
        ctx.moveTo(px[i] + radius, py[i]); ctx.arc(px[i], py[i], radius, 0, 2 * Math.PI);
      }
      ctx.fillStyle = data.state_colours[s]; ctx.fill(); ctx.stroke();
    }
    if (state.selected >= 0) {
      const i = state.selected;
      ctx.beginPath(); ctx.arc(px[i], py[i], radius + 6, 0, 2 * Math.PI);
      ctx.lineWidth = 3; ctx.strokeStyle = "#d6001c"; ctx.stroke();
    }
    updateText(t);
  }
  function drawDoors(t) { // open orders red, delivered ones green: one path per colour
    const n = upperBound(doors.created, t);
    const size = view.scale > 0.5 ? 4 : 3, half = size / 2;
    const open = new Path2D(), done = new Path2D();
    for (let i = 0; i < n; i++) {
      if (t < doors.end[i]) open.rect(sx(doors.xs[i]) - half, sy(doors.ys[i]) - half, size, size);
      else if (doors.delivered[i]) done.rect(sx(doors.xs[i]) - half, sy(doors.ys[i]) - half, size, size);
    }
    ctx.fillStyle = "rgba(44, 160, 44, .55)"; ctx.fill(done);
    ctx.fillStyle = "rgba(214, 39, 40, .75)"; ctx.fill(open);
  }
  function drawRoute(robot, t) { // the rest of the selected robot's current leg
    const i = upperBound(robot.legStart, t) - 1;
    if (i < 0) return;
    const leg = robot.legs[i];
    if (t >= leg.t[leg.t.length - 1]) return;
    const j = positionOf(robot, t, point);
    ctx.beginPath(); ctx.moveTo(sx(point[0]), sy(point[1]));
    for (let k = j + 1; k < leg.v.length; k++) ctx.lineTo(sx(vertices.xs[leg.v[k]]), sy(vertices.ys[leg.v[k]]));
    ctx.lineWidth = 3; ctx.strokeStyle = "rgba(214, 0, 28, .6)"; ctx.lineJoin = "round"; ctx.stroke();
  }
  function updateText(t) {
    el("clock").textContent = clock(t);
    el("slider").value = String(Math.round(t));
    const c = counters(t);
    el("delivered").textContent = c.delivered.toLocaleString("en");
    el("waiting").textContent = c.waiting.toLocaleString("en");
    el("busy").textContent = c.busy + " / " + robots.length;
    for (let s = 0; s < nStates; s++) legendCounts[s].textContent = String(c.perState[s]);
    const info = el("info");
    if (state.selected < 0) { info.hidden = true; return; }
    const robot = robots[state.selected];
    const order = orderOf(robot, t);
    info.hidden = false;
    el("info-id").textContent = robot.id;
    el("info-state").textContent = data.state_labels[stateOf(robot, t)];
    el("info-order").textContent = order === null ? "—" : "#" + order;
    el("info-street").textContent = streetOf(robot, t) || "—";
    el("info-hub").textContent = robot.hub;
  }
  function seek(t) {
    state.t = Math.min(END, Math.max(START, Number(t)));
    draw();
  }
  function setPlaying(on) {
    state.playing = on && state.t < END;
    state.last = null;
    el("play").textContent = state.playing ? "❚❚ Pause" : "▶ Play";
  }
  function frame(now) {
    if (state.playing) {
      if (state.last !== null) {
        state.t = Math.min(END, state.t + (now - state.last) / 1000 * state.speed);
        if (state.t >= END) setPlaying(false);
        draw();
      }
      state.last = now;
    }
    window.requestAnimationFrame(frame);
  }

  // ---- interaction ------------------------------------------------------------------------
  function pick(clientX, clientY) {
    const rect = canvas.getBoundingClientRect();
    const x = clientX - rect.left, y = clientY - rect.top;
    let best = -1, bestD = 12 * 12;
    for (let i = 0; i < robots.length; i++) {
      const d = (px[i] - x) * (px[i] - x) + (py[i] - y) * (py[i] - y);
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }
  const drag = { on: false, moved: false, x: 0, y: 0 };
  canvas.addEventListener("mousedown", function (e) {
    drag.on = true; drag.moved = false; drag.x = e.clientX; drag.y = e.clientY;
  });
  window.addEventListener("mousemove", function (e) {
    if (!drag.on) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true; canvas.classList.add("dragging");
    view.cx -= dx / view.scale; view.cy += dy / view.scale;
    drag.x = e.clientX; drag.y = e.clientY;
    drawBackground(); draw();
  });
  window.addEventListener("mouseup", function (e) {
    if (drag.on && !drag.moved && e.target === canvas) { state.selected = pick(e.clientX, e.clientY); draw(); }
    drag.on = false; canvas.classList.remove("dragging");
  });
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    const rect = canvas.getBoundingClientRect();
    const mx = e.clientX - rect.left, my = e.clientY - rect.top;
    const wx = view.cx + (mx - view.width / 2) / view.scale, wy = view.cy - (my - view.height / 2) / view.scale;
    view.scale *= Math.exp(-e.deltaY * 0.0015);
    view.cx = wx - (mx - view.width / 2) / view.scale; view.cy = wy + (my - view.height / 2) / view.scale;
    drawBackground(); draw();
  }, { passive: false });
  el("play").addEventListener("click", function () {
    if (!state.playing && state.t >= END) state.t = START;
    setPlaying(!state.playing);
  });
  el("speed").addEventListener("change", function (e) { state.speed = Number(e.target.value); });
  el("slider").addEventListener("input", function (e) { seek(e.target.value); });
  el("reset").addEventListener("click", function () { fit(); drawBackground(); draw(); });
  window.addEventListener("keydown", function (e) {
    if (e.code === "Space" && e.target.tagName !== "SELECT" && e.target.tagName !== "INPUT") {
      e.preventDefault(); el("play").click();
    }
  });
  window.addEventListener("resize", resize);

  // ---- start --------------------------------------------------------------------------------
  el("title").textContent = "carreta replay — " + data.scenario + " — " + data.date;
  el("busy-label").title = "loading, driving or serving";
  const slider = el("slider");
  slider.min = String(Math.floor(START)); slider.max = String(Math.ceil(END));
  const legend = el("legend");
  for (let s = 0; s < nStates; s++) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch"; swatch.style.background = data.state_colours[s];
    const label = document.createElement("span"); label.textContent = data.state_labels[s];
    const count = document.createElement("span"); count.className = "count";
    item.append(swatch, label, count); legend.append(item); legendCounts.push(count);
  }
  state.speed = Number(el("speed").value);
  resize();
  window.requestAnimationFrame(frame);

  window.carretaReplay = Object.freeze({
    start: START,
    end: END,
    robotIds: function () { return robots.map(function (r) { return r.id; }); },
    positionsAt: function (t) { // [[lon, lat], ...] in robot order
      return robots.map(function (r) { positionOf(r, Number(t), point); return lonLat(point[0], point[1]); });
    },
    statesAt: function (t) { return robots.map(function (r) { return data.states[stateOf(r, Number(t))]; }); },
    countersAt: function (t) { const c = counters(Number(t)); return { delivered: c.delivered, waiting: c.waiting, busy: c.busy }; },
    screenPositionOf: function (id) { // CSS pixels in the page, at the current time
      const i = robots.findIndex(function (r) { return r.id === id; });
      if (i < 0) return null;
      const rect = canvas.getBoundingClientRect();
      return [rect.left + px[i], rect.top + py[i]];
    },
    time: function () { return state.t; },
    seek: seek,
  });
})();
