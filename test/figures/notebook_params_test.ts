import assert from "node:assert/strict";
import { join } from "node:path";
import { declaredParams, parseParamArg, planParams } from "../../src/figures/notebook_params.ts";
import { UsageError } from "../../src/util/errors.ts";
import { ROOT } from "../_shared.ts";

const NOTEBOOKS = [
  { name: "01-eda", declared: ["DATASET", "QUICK"] },
  { name: "02-feature-selection", declared: ["DATASET", "QUICK", "FEATURE_SETS_DIR"] },
  { name: "03-training", declared: ["DATASET", "QUICK", "MODELS_DIR"] },
  { name: "04-ids-benchmark", declared: ["QUICK", "RESULTS"] },
];

Deno.test("notebook params: a global parameter goes only where it is declared; per-notebook ones win", () => {
  const plan = planParams(NOTEBOOKS, {
    global: { DATASET: "cic-ids2017", QUICK: true },
    perNotebook: [parseParamArg("01:DATASET=unsw-nb15")],
  });
  assert.deepEqual(plan.get("01-eda"), { DATASET: "unsw-nb15", QUICK: true });
  assert.deepEqual(plan.get("02-feature-selection"), { DATASET: "cic-ids2017", QUICK: true });
  assert.deepEqual(plan.get("04-ids-benchmark"), { QUICK: true });
});

Deno.test("notebook params: outside reports/, output folders go under OUT unless given", () => {
  const plan = planParams(NOTEBOOKS, {
    global: {},
    perNotebook: [parseParamArg('03:MODELS_DIR="/elsewhere"')],
    outputsUnder: "/tmp/r",
  });
  assert.deepEqual(plan.get("02-feature-selection"), { FEATURE_SETS_DIR: join("/tmp/r", "feature-sets") });
  assert.deepEqual(plan.get("03-training"), { MODELS_DIR: "/elsewhere" });
  assert.deepEqual(plan.get("01-eda"), {});
});

Deno.test("notebook params: undeclared or unmatched parameters are usage errors that list what exists", () => {
  assert.throws(
    () => planParams(NOTEBOOKS, { global: { NOPE: 1 }, perNotebook: [] }),
    (e: Error) =>
      e instanceof UsageError &&
      /no selected notebook declares parameter NOPE \(01-eda: DATASET, QUICK;/.test(e.message),
  );
  assert.throws(
    () => planParams(NOTEBOOKS, { global: {}, perNotebook: [parseParamArg("04:DATASET=x")] }),
    /--param 04:DATASET: 04-ids-benchmark declares QUICK, RESULTS/,
  );
  assert.throws(
    () => planParams(NOTEBOOKS, { global: {}, perNotebook: [parseParamArg("09:QUICK=true")] }),
    /no selected notebook starts with "09"/,
  );
  assert.throws(() => parseParamArg("=1"), /expects \[NOTEBOOK:\]KEY=VALUE/);
  assert.throws(() => parseParamArg("01:bad key=1"), UsageError);
  assert.throws(() => parseParamArg("NOVALUE"), UsageError);
});

Deno.test("notebook params: the project's notebooks declare what their parameters cells say", () => {
  const nb = (n: string) => JSON.parse(Deno.readTextFileSync(join(ROOT, "notebooks", n)));
  assert.ok(declaredParams(nb("01-eda.ipynb")).includes("DATASET"));
  assert.ok(declaredParams(nb("02-feature-selection.ipynb")).includes("FEATURE_SETS_DIR"));
  assert.ok(declaredParams(nb("03-training.ipynb")).includes("MODELS_DIR"));
  for (const e of Deno.readDirSync(join(ROOT, "notebooks"))) {
    if (e.name.endsWith(".ipynb")) {
      assert.ok(declaredParams(nb(e.name)).includes("QUICK"), `${e.name} declares QUICK`);
    }
  }
});
