/** nadir's version, recorded in saved models and results. Keep in step with deno.json. */
export const VERSION = "0.1.0";
