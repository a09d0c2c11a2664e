// Usage: node validate.cjs --isla BUILD/isla --src SRC DIR[:--flag,--flag] ...
// Validates every variant directory (a kustomization) offline; a variant may name gateway
// flags it must give. Exits 1 listing every problem.
"use strict";

const { loadKustomization, checkVariant, binaryOptions } = require("./lib.cjs");

// Flags other branches of issue 14 are adding to `isla gateway`: allowed while missing.
const PENDING_FLAGS = [];

function parseArgs(argv) {
  const options = { variants: [] };
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === "--isla") options.isla = argv[++i];
    else if (argv[i] === "--src") options.src = argv[++i];
    else {
      const [dir, flags] = argv[i].split(":");
      options.variants.push({ dir, required: flags ? flags.split(",") : [] });
    }
  }
  if (!options.isla || !options.src || options.variants.length === 0) {
    console.error("usage: node validate.cjs --isla ISLA --src SRC_DIR DIR[:--flag,...] ...");
    process.exit(2);
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));
const binary = binaryOptions(options.isla, options.src, PENDING_FLAGS);
let failed = 0;
for (const variant of options.variants) {
  let result;
  let count = 0;
  try {
    const objects = loadKustomization(variant.dir);
    count = objects.length;
    result = checkVariant(objects, { ...binary, requiredGatewayFlags: variant.required });
  } catch (error) {
    result = { problems: [error.message], warnings: [] };
  }
  for (const warning of result.warnings) console.log(`warning: ${variant.dir}: ${warning}`);
  for (const problem of result.problems) console.log(`FAIL ${variant.dir}: ${problem}`);
  if (result.problems.length > 0) ++failed;
  else console.log(`ok ${variant.dir}: ${count} objects valid, invariants hold`);
}
console.log(`${options.variants.length - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
