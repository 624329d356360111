/**
 * `text-embedding`: serialise each flow as text, embed it with a local
 * transformers.js feature-extraction model (mean pooling, L2-normalised) and
 * score it by the distance to its k-th nearest benign training embedding.
 *
 * **Text.** A row becomes `name=value` words in column order: one-hot groups
 * (`protocol_type=tcp`, `protocol_type=udp`, …) collapse back into one word
 * (`protocol_type=tcp`), numbers are printed with up to 4 significant digits,
 * spaces in column names become `_`. E.g.
 * `duration=0 protocol_type=tcp service=http flag=SF src_bytes=215 …`.
 *
 * **Model.** `model` is a directory holding `config.json`, `tokenizer.json`
 * (+ `tokenizer_config.json`) and `onnx/model.onnx` — the layout of any model
 * exported for transformers.js (e.g. `Xenova/all-MiniLM-L6-v2`). A bare name
 * is looked up under `data/models/`. Remote downloads are disabled
 * (`env.allowRemoteModels = false`). The default, `tiny-flow-embedder`, is a
 * 110 kB random-weight test model made by scripts/make_tiny_embedding_model.py:
 * it exercises the pipeline and carries no semantic knowledge.
 *
 * Identical texts are embedded once (KDD-style data is massively duplicated).
 *
 * **One isolate at a time.** The model runs in onnxruntime-node, a native
 * addon that keeps V8 handles of the first isolate that loads it; Deno 2.9
 * panics when a second isolate of the same process (a Worker, or a
 * `deno test --parallel` file) runs a model while the first is alive. Run this
 * detector in one isolate per process (scripts/test.sh runs the test files
 * that use it one after another).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flowText } from "./text_embedding.ts";
 * import { matrixFromRows } from "../data/matrix.ts";
 * const m = matrixFromRows([[1, 0, 215]], ["proto=tcp", "proto=udp", "src_bytes"]);
 * assert.equal(flowText(m, 0), "proto=tcp src_bytes=215");
 * ```
 * @module
 */
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Matrix } from "../data/matrix.ts";
import { InputError } from "../util/errors.ts";
import { checkFitInput, checkScoreInput } from "./_linalg.ts";
import { defineDetector } from "./factory.ts";
import { defineParams, type ParamValues } from "./params.ts";
import { initTf } from "./tf_backend.ts";
import { columnFields } from "./tokenizer.ts";
import type { Detector, DetectorFactory, DetectorState, FitOptions } from "./types.ts";

const NAME = "text-embedding";

/** data/models/ of this checkout. */
export const MODELS_DIR: string = fileURLToPath(new URL("../../data/models/", import.meta.url));

/** Hyperparameters of {@link textEmbeddingFactory}. */
export const textEmbeddingParams = defineParams({
  model: {
    type: "string",
    default: "tiny-flow-embedder",
    description:
      "local model directory (config.json, tokenizer.json, onnx/model.onnx) or a name under data/models/",
  },
  k: {
    type: "int",
    default: 5,
    min: 1,
    description: "neighbours: score = distance to the k-th nearest benign",
  },
  batchSize: { type: "int", default: 64, min: 1, description: "texts per embedding call" },
  maxTrainTexts: {
    type: "int",
    default: 20000,
    min: 1,
    description: "distinct benign texts kept (seeded sample)",
  },
  dtype: {
    type: "string",
    default: "fp32",
    choices: ["fp32", "fp16", "q8", "int8", "uint8", "q4"],
    description: "ONNX weights variant to load (onnx/model.onnx for fp32, model_quantized.onnx for q8, ...)",
  },
});

/** Validated hyperparameters of the text-embedding detector. */
export type TextEmbeddingParams = ParamValues<typeof textEmbeddingParams>;

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(4)).toString();
}

/** Plan for turning rows into text: per field, a name and either a one-hot group or a column. */
interface TextPlan {
  words: { name: string; cols: number[]; labels?: string[] }[];
}

function planFor(names: readonly string[]): TextPlan {
  return {
    words: columnFields(names).map((f) =>
      f.group !== undefined
        ? { name: f.group.replace(/\s+/g, "_"), cols: f.cols, labels: f.labels }
        : { name: names[f.col].trim().replace(/\s+/g, "_"), cols: [f.col] }
    ),
  };
}

function textOf(plan: TextPlan, data: Float64Array, base: number): string {
  const parts: string[] = [];
  for (const w of plan.words) {
    if (w.labels) {
      let best = -1, bv = 0.5;
      w.cols.forEach((c, k) => {
        if (data[base + c] > bv) {
          bv = data[base + c];
          best = k;
        }
      });
      parts.push(`${w.name}=${best < 0 ? "none" : w.labels[best]}`);
    } else {
      parts.push(`${w.name}=${fmt(data[base + w.cols[0]])}`);
    }
  }
  return parts.join(" ");
}

/** The text of row `i` of `m` (see the module doc for the format). */
export function flowText(m: Matrix, i: number): string {
  return textOf(planFor(m.names), m.data, i * m.cols);
}

/** Texts of every row. */
export function flowTexts(m: Matrix): string[] {
  const plan = planFor(m.names);
  return Array.from({ length: m.rows }, (_, i) => textOf(plan, m.data, i * m.cols));
}

/** Resolves `model` to { localModelPath, id }. */
export function resolveModel(model: string): { root: string; id: string; dir: string } {
  const candidates = isAbsolute(model) ? [model] : [resolve(model), join(MODELS_DIR, model)];
  for (const dir of candidates) {
    try {
      if (Deno.statSync(join(dir, "config.json")).isFile) {
        return { root: dirname(dir) + "/", id: basename(dir), dir };
      }
    } catch { /* try next */ }
  }
  throw new InputError(
    `${NAME}: model "${model}" not found: expected a directory with config.json, tokenizer.json and ` +
      `onnx/model.onnx (tried ${candidates.join(", ")})`,
  );
}

type Extractor = (
  texts: string[],
  opts: Record<string, unknown>,
) => Promise<{ data: Float32Array; dims: number[] }>;
const PIPES = new Map<string, Promise<Extractor>>();

/** A cached feature-extraction pipeline for a local model directory (remote downloads disabled). */
export function extractor(model: string, dtype = "fp32"): Promise<Extractor> {
  const { root, id, dir } = resolveModel(model);
  const key = `${dir}|${dtype}`;
  let p = PIPES.get(key);
  if (!p) {
    p = (async () => {
      const hf = await import("@huggingface/transformers");
      hf.env.allowRemoteModels = false;
      hf.env.allowLocalModels = true;
      hf.env.localModelPath = root;
      try {
        return await hf.pipeline("feature-extraction", id, { dtype: dtype as any }) as unknown as Extractor;
      } catch (e) {
        throw new InputError(`${NAME}: cannot load model from ${dir}: ${(e as Error).message}`);
      }
    })();
    p.catch(() => PIPES.delete(key));
    PIPES.set(key, p);
  }
  return p;
}

/** Embeds texts (mean pooling, normalised) → rows × dim float32. */
export async function embedTexts(
  model: string,
  texts: string[],
  opts: { batchSize?: number; dtype?: string; onBatch?: (done: number) => void } = {},
): Promise<{ data: Float32Array; dim: number }> {
  const ext = await extractor(model, opts.dtype ?? "fp32");
  const bs = opts.batchSize ?? 64;
  let dim = 0;
  let out = new Float32Array(0);
  for (let i = 0; i < texts.length; i += bs) {
    const r = await ext(texts.slice(i, i + bs), { pooling: "mean", normalize: true });
    if (!dim) {
      dim = r.dims[r.dims.length - 1];
      out = new Float32Array(texts.length * dim);
    }
    out.set(r.data, i * dim);
    opts.onBatch?.(Math.min(texts.length, i + bs));
  }
  return { data: out, dim };
}

class TextEmbedding implements Detector {
  readonly name = NAME;
  readonly params: Readonly<TextEmbeddingParams>;
  nFeatures: number | undefined;
  #seed: number;
  #names: string[] = [];
  #emb = new Float32Array(0);
  #dim = 0;

  constructor(params: TextEmbeddingParams, seed: number) {
    this.params = params;
    this.#seed = seed;
  }

  get #model(): string {
    return this.params.model;
  }

  async fit(x: Matrix, options: FitOptions = {}): Promise<void> {
    checkFitInput(NAME, x, 1);
    resolveModel(this.#model);
    let texts = [...new Set(flowTexts(x))];
    const cap = this.params.maxTrainTexts;
    if (texts.length > cap) {
      const { Rng } = await import("../util/random.ts");
      const idx = new Rng(this.#seed).sampleIndices(texts.length, cap).sort();
      texts = Array.from(idx, (i) => texts[i]);
    }
    const k = this.params.k;
    if (texts.length < k) {
      throw new InputError(`${NAME}.fit: needs at least k=${k} distinct benign rows, found ${texts.length}`);
    }
    const { data, dim } = await embedTexts(this.#model, texts, {
      batchSize: this.params.batchSize,
      dtype: this.params.dtype,
      onBatch: (done) => options.onProgress?.({ step: done, total: texts.length }),
    });
    this.#emb = new Float32Array(data);
    this.#dim = dim;
    this.#names = [...x.names];
    this.nFeatures = x.cols;
  }

  async score(x: Matrix): Promise<Float64Array> {
    checkScoreInput(NAME, x, this.nFeatures);
    const out = new Float64Array(x.rows);
    if (x.rows === 0) return out;
    // Score texts once each; the names are the training names (same columns).
    const texts = flowTexts({ ...x, names: this.#names });
    const uniq = [...new Set(texts)];
    const { data } = await embedTexts(this.#model, uniq, {
      batchSize: this.params.batchSize,
      dtype: this.params.dtype,
    });
    const dists = await this.#knn(data, uniq.length);
    const at = new Map(uniq.map((t, i) => [t, i]));
    for (let i = 0; i < x.rows; i++) out[i] = dists[at.get(texts[i])!];
    return out;
  }

  /** Euclidean distance (on unit vectors) to the k-th nearest training embedding, via tfjs matmul + topk. */
  async #knn(q: Float32Array, n: number): Promise<Float64Array> {
    const tf = await initTf();
    const D = this.#dim, N = this.#emb.length / D, k = this.params.k;
    const out = new Float64Array(n);
    const E = tf.tensor2d(this.#emb, [N, D]);
    try {
      const chunk = Math.max(1, Math.floor(4_000_000 / N));
      for (let r = 0; r < n; r += chunk) {
        const m = Math.min(chunk, n - r);
        const t = tf.tidy(() => {
          const sims = tf.matMul(tf.tensor2d(q.subarray(r * D, (r + m) * D), [m, D]), E, false, true);
          const top = tf.topk(sims, k, true).values; // [m, k], largest similarity first
          return tf.slice(top, [0, k - 1], [m, 1]);
        });
        const v = await t.data();
        t.dispose();
        for (let i = 0; i < m; i++) out[r + i] = Math.sqrt(Math.max(0, 2 - 2 * v[i]));
      }
    } finally {
      E.dispose();
    }
    return out;
  }

  save(): DetectorState {
    if (this.nFeatures === undefined) throw new InputError(`${NAME}.save: the model is not fitted`);
    const e = this.#emb;
    return {
      state: {
        nFeatures: this.nFeatures,
        names: this.#names,
        dim: this.#dim,
        count: e.length / Math.max(1, this.#dim),
      },
      blobs: { "embeddings.f32": new Uint8Array(e.buffer.slice(e.byteOffset, e.byteOffset + e.byteLength)) },
    };
  }

  restore(saved: DetectorState): void {
    const st = saved.state ?? {};
    const nF = st.nFeatures, dim = st.dim, count = st.count;
    if (
      typeof nF !== "number" || typeof dim !== "number" || typeof count !== "number" ||
      !Array.isArray(st.names)
    ) {
      throw new InputError(`${NAME}: saved state lacks nFeatures/names/dim/count`);
    }
    const blob = saved.blobs?.["embeddings.f32"];
    if (!blob || blob.byteLength !== dim * count * 4) {
      throw new InputError(
        `${NAME}: blob embeddings.f32 has ${blob?.byteLength ?? 0} bytes, expected ${
          dim * count * 4
        } (${count}×${dim} float32)`,
      );
    }
    resolveModel(this.#model);
    const e = new Float32Array(dim * count);
    new Uint8Array(e.buffer).set(blob);
    this.#emb = e;
    this.#dim = dim;
    this.#names = st.names as string[];
    this.nFeatures = nF;
  }
}

/** Registry entry for the transformers.js text-embedding kNN detector. */
export const textEmbeddingFactory: DetectorFactory = defineDetector({
  name: NAME,
  summary: "flow → text → local transformers.js embedding; score = k-NN distance to benign embeddings",
  params: textEmbeddingParams,
  create: (params, seed) => new TextEmbedding(params, seed),
  conformanceParams: { k: 3, batchSize: 128 },
  backend: () => "onnxruntime (transformers.js)",
});
