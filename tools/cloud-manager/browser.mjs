// The browser bundle's entry (bin/cloud-manager-sdk bundle): Cloud Manager's SDK and its
// create flow, as `window.cloudManager.runCreateFlow(options)`.
import * as sdk from "@linode/api-v4";

import { NETWORK_FAILURE, runCreateFlow, SKIPPED } from "./flow.mjs";

window.cloudManager = {
  NETWORK_FAILURE,
  SKIPPED,
  runCreateFlow: (options) => runCreateFlow(sdk, options),
};
