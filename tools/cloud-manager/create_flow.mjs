// Run Cloud Manager's create flow (flow.mjs) in Node against a cloudapi server; print
// its record as JSON on stdout.
//
//   CLOUDAPI_TOKEN=... node tools/cloud-manager/create_flow.mjs '{"root": "http://127.0.0.1:8080", ...}'
//
// Options (JSON, first argument): root, region, type, image, label, rootPass, networking
// ("classic" or "legacy-interfaces"), userData, checkType. The token comes from the
// environment so that it never shows in a process listing.
import * as sdk from "@linode/api-v4";

import { runCreateFlow } from "./flow.mjs";

const options = JSON.parse(process.argv[2] ?? "{}");
const token = process.env.CLOUDAPI_TOKEN;
if (!options.root || !token) {
  console.error("usage: CLOUDAPI_TOKEN=... node create_flow.mjs '{\"root\": \"http://...\"}'");
  process.exit(2);
}
const record = await runCreateFlow(sdk, { ...options, token });
process.stdout.write(`${JSON.stringify(record)}\n`);
