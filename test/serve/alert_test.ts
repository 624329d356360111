import assert from "node:assert/strict";
import { isoMicros } from "../../src/serve/alert.ts";

Deno.test("isoMicros: µs since the epoch as ISO 8601 UTC with six decimals, whatever second came before", () => {
  const cases: [number, string][] = [
    [0, "1970-01-01T00:00:00.000000Z"],
    [1_520_629_094_780_367, "2018-03-09T20:58:14.780367Z"], // checked with Python's datetime
    [1_520_629_094_000_007, "2018-03-09T20:58:14.000007Z"],
    [1_520_629_095_000_000, "2018-03-09T20:58:15.000000Z"],
    [999_999.9, "1970-01-01T00:00:00.999999Z"], // a fraction of a µs is cut, not rounded up
    [-1, "1969-12-31T23:59:59.999999Z"],
    [253_402_300_800_000_000, "+010000-01-01T00:00:00.000000Z"], // past year 9999
  ];
  // Each twice and interleaved: the formatted second is reused only for the same second.
  for (const [us, iso] of [...cases, ...cases.toReversed()]) assert.equal(isoMicros(us), iso, `${us}`);
  // Out of Date's range: the epoch, as a time that cannot be shown (the alerts file must stay loadable).
  assert.equal(isoMicros(NaN), "1970-01-01T00:00:00.000Z");
  assert.equal(isoMicros(1e23), "1970-01-01T00:00:00.000Z");
});
