import assert from "node:assert/strict";
import { parseParamArgs, validateParams } from "../../src/detectors/params.ts";
import {
  createDetector,
  detectorParams,
  getDetectorFactory,
  listDetectors,
} from "../../src/detectors/registry.ts";
import type { ParamSpec } from "../../src/detectors/types.ts";

const SPECS: Record<string, ParamSpec> = {
  k: { type: "int", default: 5, min: 1, description: "k" },
  rate: { type: "number", default: 0.1, min: 0, max: 1, description: "r" },
  mode: { type: "string", default: "a", choices: ["a", "b"], description: "m" },
  on: { type: "boolean", default: false, description: "o" },
  layers: { type: "int[]", default: [4, 2], min: 1, description: "l" },
};

Deno.test("params: defaults filled, strings converted", () => {
  assert.deepEqual(validateParams("x", SPECS), { k: 5, rate: 0.1, mode: "a", on: false, layers: [4, 2] });
  assert.deepEqual(
    validateParams("x", SPECS, { k: "3", rate: "0.5", mode: "b", on: "true", layers: "8,4,8" }),
    {
      k: 3,
      rate: 0.5,
      mode: "b",
      on: true,
      layers: [8, 4, 8],
    },
  );
});

Deno.test("params: errors name the detector, parameter, expectation and value", () => {
  assert.throws(
    () => validateParams("knn", SPECS, { k: 0 }),
    /detector "knn": parameter k expects an integer >= 1, found 0/,
  );
  assert.throws(
    () => validateParams("knn", SPECS, { k: "2.5" }),
    /parameter k expects an integer >= 1, found "2.5"/,
  );
  assert.throws(
    () => validateParams("knn", SPECS, { rate: 2 }),
    /parameter rate expects a number >= 0 and <= 1, found 2/,
  );
  assert.throws(
    () => validateParams("knn", SPECS, { mode: "c" }),
    /parameter mode expects one of a, b, found "c"/,
  );
  assert.throws(
    () => validateParams("knn", SPECS, { on: "yes" }),
    /parameter on expects true or false, found "yes"/,
  );
  assert.throws(
    () => validateParams("knn", SPECS, { layers: "8,x" }),
    /parameter layers expects a list of integers/,
  );
  assert.throws(
    () => validateParams("knn", SPECS, { kk: 1 }),
    /detector "knn" has no parameter kk; known parameters: k, rate/,
  );
});

Deno.test("params: CLI k=v parsing", () => {
  assert.deepEqual(parseParamArgs(["k=5", "layers=64,32"]), { k: "5", layers: "64,32" });
  assert.throws(() => parseParamArgs(["k"]), /--param expects NAME=VALUE, found "k"/);
});

Deno.test("registry: every factory's defaults validate, unknown names list the known ones", () => {
  for (const f of listDetectors()) {
    const p = detectorParams(f.name);
    assert.deepEqual(Object.keys(p).sort(), Object.keys(f.params).sort());
    if (f.conformanceParams) detectorParams(f.name, f.conformanceParams);
  }
  assert.throws(
    () => getDetectorFactory("svm"),
    /unknown detector "svm"; known detectors: kmeans, isolation-forest, knn, kitnet/,
  );
  assert.throws(() => createDetector("knn", { k: -1 }), /parameter k expects an integer >= 1, found -1/);
});
