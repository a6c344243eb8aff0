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
  const hubIndex = new Map(hubs.map(function (h, i) { return [h.id, i]; }));
  function decodeAreas(areas) {
    return (areas || []).map(function (a) { return { name: a.name, rings: a.rings.map(undeltaPairs) }; });
  }
  const labels = (data.labels || []).map(function (l) { return { name: l.name, x: l.x * KX, y: l.y, a: l.a, m: l.m, sq: l.sq }; });
  const zones = decodeAreas(data.zones);
  const districts = decodeAreas(data.districts);
  const AT_HUB_UNITS = 30; // a robot standing within ~33 m of its hub is counted in its badge
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
      id: r.id, type: r.type, hub: r.hub, hubAt: hubIndex.has(r.hub) ? hubIndex.get(r.hub) : -1,
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
    function ringPath(rings) {
      b.beginPath();
      for (const ring of rings) {
        b.moveTo(sx(ring.xs[0]), sy(ring.ys[0]));
        for (let i = 1; i < ring.xs.length; i++) b.lineTo(sx(ring.xs[i]), sy(ring.ys[i]));
        b.closePath();
      }
    }
    for (const zone of zones) {
      ringPath(zone.rings);
      b.fillStyle = "rgba(207, 232, 198, .85)"; b.fill();
      b.strokeStyle = "#5d9c59"; b.lineWidth = 1; b.stroke();
    }
    b.setLineDash([6, 4]);
    for (const district of districts) {
      ringPath(district.rings);
      b.strokeStyle = "rgba(109, 95, 143, .8)"; b.lineWidth = 1.4; b.stroke();
    }
    b.setLineDash([]);
    b.strokeStyle = "#b9b9b9"; b.lineWidth = Math.max(0.6, Math.min(2.5, view.scale * 2.5)); b.lineJoin = "round";
    b.beginPath();
    for (const s of streets) {
      b.moveTo(sx(s.xs[0]), sy(s.ys[0]));
      for (let i = 1; i < s.xs.length; i++) b.lineTo(sx(s.xs[i]), sy(s.ys[i]));
    }
    b.stroke();
    drawLabels(b);
    for (const h of hubs) drawStar(b, sx(h.x), sy(h.y), 11);
    b.font = "600 13px system-ui, sans-serif"; b.lineJoin = "round";
    for (const h of hubs) {
      b.strokeStyle = "rgba(255,255,255,.9)"; b.lineWidth = 4; b.strokeText("hub " + h.id, sx(h.x) + 13, sy(h.y) - 10);
      b.fillStyle = "#1d2330"; b.fillText("hub " + h.id, sx(h.x) + 13, sy(h.y) - 10);
    }
    drawScaleBar(b);
    drawNorth(b);
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
  function drawLabels(b) { // street and square names along their street, never overlapping
    const taken = [];
    for (const h of hubs) taken.push([sx(h.x) - 14, sy(h.y) - 26, sx(h.x) + 150, sy(h.y) + 34]);
    taken.push([view.width - 140, view.height - 40, view.width, view.height]);
    taken.push([0, view.height - 44, 480, view.height]);
    const metresPerPixel = 1.11195 / view.scale;
    b.lineJoin = "round";
    for (const label of labels) {
      b.font = (label.sq ? "italic " : "") + "11px system-ui, sans-serif";
      const width = b.measureText(label.name).width, height = 12;
      if (!label.sq && width * metresPerPixel > label.m * 1.1) continue; // longer than its street
      const x = sx(label.x), y = sy(label.y), a = -label.a * Math.PI / 180;
      const hw = (Math.abs(Math.cos(a)) * width + Math.abs(Math.sin(a)) * height) / 2;
      const hh = (Math.abs(Math.sin(a)) * width + Math.abs(Math.cos(a)) * height) / 2;
      const box = [x - hw, y - hh, x + hw, y + hh];
      if (box[0] < 2 || box[1] < 2 || box[2] > view.width - 2 || box[3] > view.height - 2) continue;
      if (taken.some(function (o) { return box[0] < o[2] && o[0] < box[2] && box[1] < o[3] && o[1] < box[3]; })) continue;
      taken.push(box);
      b.save(); b.translate(x, y); b.rotate(a); b.textAlign = "center"; b.textBaseline = "middle";
      b.strokeStyle = "rgba(255,255,255,.9)"; b.lineWidth = 3; b.strokeText(label.name, 0, 0);
      b.fillStyle = "#3c3c3c"; b.fillText(label.name, 0, 0);
      b.restore();
    }
  }
  function drawNorth(b) {
    const x = view.width - 22, y = 18;
    b.fillStyle = "#000"; b.beginPath(); b.moveTo(x, y); b.lineTo(x - 6, y + 16); b.lineTo(x + 6, y + 16); b.closePath(); b.fill();
    b.font = "700 12px system-ui, sans-serif"; b.textAlign = "center"; b.fillText("N", x, y + 30); b.textAlign = "start";
  }
  function resize() {
    const rect = canvas.getBoundingClientRect();
    const firstTime = view.width === 1;
    view.ratio = window.devicePixelRatio || 1;
    view.width = Math.max(rect.width, 50); view.height = Math.max(rect.height, 50);
    canvas.width = Math.round(view.width * view.ratio); canvas.height = Math.round(view.height * view.ratio);
    if (firstTime) fit();
    drawBackground();
    drawCharts();
    draw();
  }

  // ---- state and drawing ------------------------------------------------------------------
  const FIRST = Math.max(START, Math.floor(((data.first_activity_s || START) - 300) / 60) * 60);
  const state = { t: FIRST, playing: false, speed: 300, selected: -1, selectedHub: -1, last: null, frameMs: 0 };
  const px = new Float64Array(robots.length), py = new Float64Array(robots.length);
  const codes = new Int32Array(robots.length);
  const atHub = new Uint8Array(robots.length);
  const hubCounts = hubs.map(function () { return new Int32Array(nStates); });
  const point = [0, 0];
  const el = function (id) { return document.getElementById(id); };
  const legendCounts = [];
  const BADGE_DX = 16, BADGE_DY = 16;

  function clock(t) {
    const m = Math.floor(t / 60 + 1e-9);
    return String(Math.floor(m / 60) % 24).padStart(2, "0") + ":" + String(m % 60).padStart(2, "0");
  }
  function draw() {
    const started = performance.now();
    const t = state.t, r = view.ratio;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(background, 0, 0);
    ctx.setTransform(r, 0, 0, r, 0, 0);
    for (const counts of hubCounts) counts.fill(0);
    for (let i = 0; i < robots.length; i++) {
      const robot = robots[i];
      const moving = positionOf(robot, t, point) >= 0;
      codes[i] = stateOf(robot, t);
      const dx = point[0] - robot.homeX, dy = point[1] - robot.homeY;
      let home = false;
      if (!moving && robot.hubAt >= 0) { // before its first leg, back from a tour, or standing by the hub
        const leg = upperBound(robot.legStart, t) - 1;
        home = leg < 0 || robot.legs[leg].kind === 1 || dx * dx + dy * dy < AT_HUB_UNITS * AT_HUB_UNITS;
      }
      atHub[i] = home ? 1 : 0;
      if (atHub[i]) hubCounts[robot.hubAt][codes[i]]++;
      px[i] = sx(point[0]); py[i] = sy(point[1]);
    }
    drawDoors(t);
    if (state.selected >= 0) drawTour(robots[state.selected], t);
    const radius = robots.length > 300 ? 3.5 : robots.length > 50 ? 5 : 7;
    ctx.lineWidth = 1; ctx.strokeStyle = "rgba(0,0,0,.55)";
    for (let s = 0; s < nStates; s++) { // one path per state colour
      ctx.beginPath();
      let any = false;
      for (let i = 0; i < robots.length; i++) {
        if (codes[i] !== s || atHub[i]) continue;
        ctx.moveTo(px[i] + radius, py[i]); ctx.arc(px[i], py[i], radius, 0, 2 * Math.PI); any = true;
      }
      if (any) { ctx.fillStyle = data.state_colours[s]; ctx.fill(); ctx.stroke(); }
    }
    for (let h = 0; h < hubs.length; h++) drawBadge(h);
    if (state.selected >= 0 && !atHub[state.selected]) {
      const i = state.selected;
      ctx.beginPath(); ctx.arc(px[i], py[i], radius + 6, 0, 2 * Math.PI);
      ctx.lineWidth = 3; ctx.strokeStyle = "#d6001c"; ctx.stroke();
    }
    drawCursor(t);
    updateText(t);
    state.frameMs = performance.now() - started;
  }
  function badgeCentre(h) { return [sx(hubs[h].x) + BADGE_DX, sy(hubs[h].y) + BADGE_DY]; }
  function drawBadge(h) { // robots at a hub: one disc with their number, ringed by their states
    const counts = hubCounts[h];
    let total = 0;
    for (let s = 0; s < nStates; s++) total += counts[s];
    if (total === 0) return;
    const c = badgeCentre(h), radius = total > 99 ? 15 : 12;
    ctx.beginPath(); ctx.arc(c[0], c[1], radius + 3, 0, 2 * Math.PI); ctx.fillStyle = "#fff"; ctx.fill();
    let angle = -Math.PI / 2;
    ctx.lineWidth = 5;
    for (let s = 0; s < nStates; s++) {
      if (!counts[s]) continue;
      const sweep = 2 * Math.PI * counts[s] / total;
      ctx.beginPath(); ctx.arc(c[0], c[1], radius, angle, angle + sweep);
      ctx.strokeStyle = data.state_colours[s]; ctx.stroke();
      angle += sweep;
    }
    ctx.beginPath(); ctx.arc(c[0], c[1], radius + 5.5, 0, 2 * Math.PI);
    ctx.lineWidth = 1; ctx.strokeStyle = state.selectedHub === h ? "#d6001c" : "rgba(0,0,0,.45)"; ctx.stroke();
    ctx.fillStyle = "#1d2330"; ctx.font = "700 12px system-ui, sans-serif";
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText(String(total), c[0], c[1] + 0.5);
    ctx.textAlign = "start"; ctx.textBaseline = "alphabetic";
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

  // ---- tours -----------------------------------------------------------------------------------
  function tourOf(robot, t) { // {first, last, number, count} legs of the tour under way, else the next (or last) one
    const n = robot.legs.length;
    if (n === 0) return null;
    let i = upperBound(robot.legStart, t) - 1;
    if (i < 0) i = 0;
    else {
      const leg = robot.legs[i];
      if (leg.kind === 1 && t >= leg.t[leg.t.length - 1] && i + 1 < n) i++;
    }
    let first = i, last = i;
    while (first > 0 && robot.legs[first - 1].kind !== 1) first--;
    while (last < n - 1 && robot.legs[last].kind !== 1) last++;
    let number = 1, count = 0;
    for (let k = 0; k < n; k++) {
      if (robot.legs[k].kind === 1 || k === n - 1) count++;
      if (k < first && robot.legs[k].kind === 1) number++;
    }
    return { first: first, last: last, number: number, count: count };
  }
  function stopsOf(robot, tour) { // [{order, leg, arrive, end}] of the tour's to_stop legs
    const stops = [];
    for (let k = tour.first; k <= tour.last; k++) {
      const leg = robot.legs[k];
      if (leg.kind !== 0) continue;
      const j = upperBound(robot.orderStart, leg.t[0] + TQ / 2) - 1;
      const matched = j >= 0 && Math.abs(robot.orderStart[j] - leg.t[0]) < TQ;
      stops.push({
        order: matched ? robot.orderId[j] : null, leg: k,
        arrive: leg.t[leg.t.length - 1], end: matched ? robot.orderEnd[j] : Infinity,
      });
    }
    return stops;
  }
  function drawTour(robot, t) { // driven part dashed grey, the rest red, stops numbered
    const tour = tourOf(robot, t);
    if (!tour) return;
    ctx.lineJoin = "round"; ctx.lineCap = "round";
    for (let k = tour.first; k <= tour.last; k++) {
      const leg = robot.legs[k], last = leg.t.length - 1;
      const done = t >= leg.t[last], ahead = t < leg.t[0];
      let split = -1;
      if (!done && !ahead) split = positionOf(robot, t, point);
      // driven part
      if (!ahead) {
        ctx.beginPath(); ctx.moveTo(sx(vertices.xs[leg.v[0]]), sy(vertices.ys[leg.v[0]]));
        const upto = done ? last : split;
        for (let q = 1; q <= upto; q++) ctx.lineTo(sx(vertices.xs[leg.v[q]]), sy(vertices.ys[leg.v[q]]));
        if (!done) ctx.lineTo(sx(point[0]), sy(point[1]));
        ctx.setLineDash([5, 4]); ctx.lineWidth = 2.5; ctx.strokeStyle = "rgba(90, 90, 90, .75)"; ctx.stroke();
        ctx.setLineDash([]);
      }
      if (!done) {
        ctx.beginPath();
        if (ahead) ctx.moveTo(sx(vertices.xs[leg.v[0]]), sy(vertices.ys[leg.v[0]]));
        else ctx.moveTo(sx(point[0]), sy(point[1]));
        for (let q = ahead ? 1 : split + 1; q <= last; q++) ctx.lineTo(sx(vertices.xs[leg.v[q]]), sy(vertices.ys[leg.v[q]]));
        ctx.lineWidth = 3.5; ctx.strokeStyle = leg.kind === 1 ? "rgba(214, 0, 28, .45)" : "rgba(214, 0, 28, .8)"; ctx.stroke();
      }
    }
    ctx.lineCap = "butt";
    const stops = stopsOf(robot, tour);
    ctx.font = "700 10px system-ui, sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    stops.forEach(function (stop, index) {
      const leg = robot.legs[stop.leg], v = leg.v[leg.v.length - 1];
      const x = sx(vertices.xs[v]), y = sy(vertices.ys[v]);
      const served = t >= stop.end;
      ctx.beginPath(); ctx.arc(x, y, 8, 0, 2 * Math.PI);
      ctx.fillStyle = served ? "#2ca02c" : "#fff"; ctx.fill();
      ctx.lineWidth = 2; ctx.strokeStyle = served ? "#1b5e1b" : "#d6001c"; ctx.stroke();
      ctx.fillStyle = served ? "#fff" : "#d6001c"; ctx.fillText(String(index + 1), x, y + 0.5);
    });
    ctx.textAlign = "start"; ctx.textBaseline = "alphabetic";
  }
  let tourKey = "";
  function updateTour(robot, t) { // the list in the panel, rebuilt only when it changes
    const tour = tourOf(robot, t);
    const list = el("tour");
    if (!tour) { el("tour-title").textContent = "No tour"; list.replaceChildren(); tourKey = ""; return; }
    const stops = stopsOf(robot, tour);
    const status = stops.map(function (s) { return t >= s.end ? "d" : t >= robot.legs[s.leg].t[0] ? "n" : "l"; });
    const key = state.selected + ":" + tour.first + ":" + status.join("");
    if (key === tourKey) return;
    tourKey = key;
    const leaves = robot.legs[tour.first].t[0], back = robot.legs[tour.last].t[robot.legs[tour.last].t.length - 1];
    el("tour-title").textContent = "Tour " + tour.number + " of " + tour.count + " · " + stops.length +
      " stops · " + clock(leaves) + "–" + clock(back);
    const items = stops.map(function (stop, index) {
      const item = document.createElement("li");
      const label = stop.order === null ? "stop " + (index + 1) : "order #" + stop.order;
      if (status[index] === "d") { item.className = "done"; item.textContent = label + " — delivered " + clock(stop.end); }
      else if (status[index] === "n") { item.className = "next"; item.textContent = label + " — on the way, arrives " + clock(stop.arrive); }
      else { item.className = "later"; item.textContent = label + " — planned, ~" + clock(stop.arrive); }
      return item;
    });
    list.replaceChildren.apply(list, items);
  }

  // ---- charts ----------------------------------------------------------------------------------
  const series = data.series;
  const chartRobots = el("chart-robots"), chartOrders = el("chart-orders");
  const chartCache = [document.createElement("canvas"), document.createElement("canvas")];
  function seriesTime(k) { return START + series.t0 * TQ + k * series.step; }
  function drawChart(target, cache, layers, maxValue, stacked) {
    const r = window.devicePixelRatio || 1, w = target.clientWidth || 270, h = target.clientHeight || target.height;
    for (const c of [target, cache]) { c.width = Math.round(w * r); c.height = Math.round(h * r); }
    const g = cache.getContext("2d");
    g.setTransform(r, 0, 0, r, 0, 0);
    const left = 26, right = w - 4, top = 6, bottom = h - 14;
    const n = series.waiting.length;
    const X = function (k) { return left + (right - left) * k / Math.max(n - 1, 1); };
    const Y = function (v) { return bottom - (bottom - top) * v / Math.max(maxValue, 1); };
    const base = new Float64Array(n);
    for (const layer of layers) {
      g.beginPath(); g.moveTo(X(0), Y(stacked ? base[0] : 0));
      for (let k = 0; k < n; k++) g.lineTo(X(k), Y(base[k] + layer.values[k]));
      if (stacked) {
        for (let k = n - 1; k >= 0; k--) g.lineTo(X(k), Y(base[k]));
        g.closePath(); g.fillStyle = layer.colour; g.fill();
        for (let k = 0; k < n; k++) base[k] += layer.values[k];
      } else {
        g.lineWidth = 1.6; g.strokeStyle = layer.colour; g.stroke();
      }
    }
    g.strokeStyle = "#8a93a6"; g.lineWidth = 1; g.beginPath(); g.moveTo(left, top); g.lineTo(left, bottom); g.lineTo(right, bottom); g.stroke();
    g.fillStyle = "#4a5266"; g.font = "10px system-ui, sans-serif"; g.textAlign = "right";
    g.fillText(String(maxValue), left - 3, top + 8); g.fillText("0", left - 3, bottom);
    g.textAlign = "center";
    const firstHour = Math.ceil(START / 3600), lastHour = Math.floor(END / 3600);
    const every = lastHour - firstHour > 8 ? 3 : lastHour - firstHour > 4 ? 2 : 1;
    for (let hour = firstHour; hour <= lastHour; hour += every) {
      const x = left + (right - left) * (hour * 3600 - START) / Math.max(END - START, 1);
      if (x < left + 8 || x > right - 8) continue;
      g.fillText(String(hour % 24).padStart(2, "0") + "h", x, h - 3);
    }
    g.textAlign = "start";
    return { left: left, right: right, top: top, bottom: bottom };
  }
  const chartFrames = [null, null];
  function drawCharts() {
    const robotLayers = []; // busy states from the bottom up, idle (state 0) on top
    for (let s = 1; s <= nStates; s++) {
      const k = s % nStates;
      if (series.robots[k].some(function (v) { return v > 0; })) robotLayers.push({ colour: data.state_colours[k], values: series.robots[k] });
    }
    chartFrames[0] = drawChart(chartRobots, chartCache[0], robotLayers, robots.length, true);
    let most = 1;
    for (let k = 0; k < series.waiting.length; k++) most = Math.max(most, series.waiting[k] + series.on_board[k]);
    chartFrames[1] = drawChart(chartOrders, chartCache[1], [
      { colour: "rgba(31, 119, 180, .55)", values: series.on_board },
      { colour: "rgba(214, 39, 40, .6)", values: series.waiting },
    ], most, true);
  }
  function drawCursor(t) {
    [chartRobots, chartOrders].forEach(function (target, index) {
      const frame = chartFrames[index];
      if (!frame) return;
      const g = target.getContext("2d"), r = window.devicePixelRatio || 1;
      g.setTransform(1, 0, 0, 1, 0, 0); g.drawImage(chartCache[index], 0, 0);
      g.setTransform(r, 0, 0, r, 0, 0);
      const x = frame.left + (frame.right - frame.left) * (t - START) / Math.max(END - START, 1);
      g.strokeStyle = "#d6001c"; g.lineWidth = 1.5; g.beginPath(); g.moveTo(x, frame.top); g.lineTo(x, frame.bottom); g.stroke();
    });
  }

  function updateText(t) {
    el("clock").textContent = clock(t);
    el("slider").value = String(Math.round(t));
    const c = counters(t);
    el("delivered").textContent = c.delivered.toLocaleString("en");
    el("waiting").textContent = c.waiting.toLocaleString("en");
    el("busy").textContent = c.busy + " / " + robots.length;
    for (let s = 0; s < nStates; s++) legendCounts[s].textContent = String(c.perState[s]);
    updateHubInfo();
    const info = el("info");
    if (state.selected < 0) { info.hidden = true; tourKey = ""; return; }
    const robot = robots[state.selected];
    const order = orderOf(robot, t);
    info.hidden = false;
    el("info-id").textContent = robot.id;
    el("info-state").textContent = data.state_labels[stateOf(robot, t)] + (atHub[state.selected] ? " (at the hub)" : "");
    el("info-order").textContent = order === null ? "—" : "#" + order;
    el("info-street").textContent = streetOf(robot, t) || "—";
    el("info-hub").textContent = robot.hub;
    updateTour(robot, t);
  }
  function updateHubInfo() {
    const box = el("hub-info");
    if (state.selectedHub < 0) { box.hidden = true; return; }
    box.hidden = false;
    const counts = hubCounts[state.selectedHub];
    let total = 0;
    for (let s = 0; s < nStates; s++) total += counts[s];
    el("hub-title").textContent = "At hub " + hubs[state.selectedHub].id + ": " + total + " robots";
    const items = [];
    for (let s = 0; s < nStates; s++) {
      if (!counts[s]) continue;
      const item = document.createElement("li");
      const swatch = document.createElement("span"); swatch.className = "swatch"; swatch.style.background = data.state_colours[s];
      const label = document.createElement("span"); label.textContent = data.state_labels[s];
      const count = document.createElement("span"); count.className = "count"; count.textContent = String(counts[s]);
      item.append(swatch, label, count); items.push(item);
    }
    el("hub-list").replaceChildren.apply(el("hub-list"), items);
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
  function pick(clientX, clientY) { // a robot on the streets, or -2 - h for the badge of hub h
    const rect = canvas.getBoundingClientRect();
    const x = clientX - rect.left, y = clientY - rect.top;
    let best = -1, bestD = 12 * 12;
    for (let i = 0; i < robots.length; i++) {
      if (atHub[i]) continue;
      const d = (px[i] - x) * (px[i] - x) + (py[i] - y) * (py[i] - y);
      if (d < bestD) { bestD = d; best = i; }
    }
    if (best >= 0) return best;
    for (let h = 0; h < hubs.length; h++) {
      const c = badgeCentre(h);
      if ((c[0] - x) * (c[0] - x) + (c[1] - y) * (c[1] - y) < 18 * 18) return -2 - h;
    }
    return -1;
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
    if (drag.on && !drag.moved && e.target === canvas) {
      const picked = pick(e.clientX, e.clientY);
      state.selected = picked >= 0 ? picked : -1;
      state.selectedHub = picked <= -2 ? -2 - picked : -1;
      draw();
    }
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
    if (!state.playing && state.t >= END) state.t = FIRST;
    setPlaying(!state.playing);
  });
  el("speed").addEventListener("change", function (e) { state.speed = Number(e.target.value); });
  el("slider").addEventListener("input", function (e) { seek(e.target.value); });
  el("reset").addEventListener("click", function () { fit(); drawBackground(); draw(); });
  el("legend-zone").hidden = zones.length === 0;
  el("legend-district").hidden = districts.length === 0;
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
    firstActivity: FIRST,
    seek: seek,
    frameTime: function () { return state.frameMs; }, // ms spent in the last draw()
    badgePosition: function (h) { // CSS pixels in the page of hub h's badge
      const rect = canvas.getBoundingClientRect(), c = badgeCentre(h);
      return [rect.left + c[0], rect.top + c[1]];
    },
    hubBadges: function () { // [{hub, robots}] at the current time
      return hubs.map(function (h, i) {
        let total = 0;
        for (let s = 0; s < nStates; s++) total += hubCounts[i][s];
        return { hub: h.id, robots: total };
      });
    },
    tourOf: function (id) { // order ids of the tour shown for robot id at the current time
      const robot = robots.find(function (r) { return r.id === id; });
      const tour = robot ? tourOf(robot, state.t) : null;
      return tour ? stopsOf(robot, tour).map(function (s) { return s.order; }) : null;
    },
  });
})();
