import assert from "node:assert/strict";
import { CAPTURE_STREAM, captureStream } from "../../src/eval/adaptation_captures.ts";
import { replayStream } from "../../src/eval/adaptation.ts";
import { InputError } from "../../src/util/errors.ts";
import { dataPath } from "../_shared.ts";

// The captures are vendored (data/pcaps): the real files, metered as the monitor meters them.
const dir = dataPath("pcaps");

Deno.test("capture stream: warm-up flows split into fit and calibration rows; stream labelled per capture, in order", async () => {
  const s = await captureStream({ dir });
  assert.equal(s.captures.length, CAPTURE_STREAM.stream.length);
  assert.equal(s.stream.rows, s.captures.reduce((n, c) => n + c.flows, 0));
  assert.equal(s.y.length, s.stream.rows);
  assert.equal(s.category.length, s.stream.rows);
  // Labels follow the captures in order.
  let at = 0;
  for (const c of s.captures) {
    assert.ok(c.flows > 0, c.pcap);
    for (let i = at; i < at + c.flows; i++) assert.equal(s.y[i], c.label);
    at += c.flows;
  }
  assert.equal(s.fit.cols, s.stream.cols);
  assert.equal(s.calibration.cols, s.stream.cols);
  assert.ok(s.calibration.rows >= 1 && s.fit.rows > s.calibration.rows);
  // Scaled on the fit rows: every fit value in [0, 1].
  assert.ok(s.fit.data.every((v) => v >= 0 && v <= 1 + 1e-12));
});

Deno.test("capture stream: replays under a policy; the same seed gives the same run", async () => {
  const s = await captureStream({ dir });
  const a = await replayStream(s, { policy: "sliding", window: 100, feedback: 0.05 });
  const b = await replayStream(s, { policy: "sliding", window: 100, feedback: 0.05 });
  assert.deepEqual(a.total, b.total);
  assert.equal(a.total.rows, s.stream.rows);
  assert.equal(a.total.benign, s.captures.filter((c) => !c.label).reduce((n, c) => n + c.flows, 0));
  assert.equal(a.test, "captures");
});

Deno.test("capture stream: a missing capture is an error naming it", async () => {
  await assert.rejects(
    () => captureStream({ dir, spec: { ...CAPTURE_STREAM, warmup: ["no-such.pcap"] } }),
    (e: Error) =>
      e instanceof InputError && /no-such\.pcap/.test(e.message) && /capture not found/.test(e.message),
  );
});
