// Cloud Manager's Linode create flow, call for call, through its SDK (npm @linode/api-v4).
//
// runCreateFlow(sdk, options) takes the SDK module itself, so Node (create_flow.mjs) and
// a browser page (browser.mjs, bundled by esbuild) run the very same steps. It returns
// {steps, skipped}: one entry per call, {name, ok, data} or {name, ok: false, status,
// errors}, in the order Cloud Manager makes them, and the calls it leaves out, each with
// its reason. Errors arrive as Cloud Manager's request.tsx hands them to its pages: the
// API's `errors` list, or a "network failure" reason when no HTTP response came back
// (what a browser reports for a response without CORS headers).

const SDK_ROOT = "https://api.linode.com/v4"; // what the SDK builds every URL from
const PAGE_SIZE = 500; // Cloud Manager's getAll(): API_MAX_PAGE_SIZE
export const NETWORK_FAILURE = "network failure (no HTTP response)";

// Calls Cloud Manager makes after a create that this server does not serve yet (none now;
// a path listed here that the server starts to serve fails tests/support/cloud_manager.py).
export const SKIPPED = {};

/** Point the SDK at `root` (http://host:port) as Cloud Manager's request.tsx does:
 * swap the SDK's API root in each URL (so /v4beta stays /v4beta), add the token, and
 * turn an Axios error into the API's error list. Returns an undo function. */
export function configure(sdk, root, token) {
  const { baseRequest } = sdk;
  const requests = baseRequest.interceptors.request.use((config) => {
    const url = config.url?.replace(SDK_ROOT, `${root}/v4`);
    const headers = { ...config.headers, Authorization: `Bearer ${token}` };
    return { ...config, url, headers };
  });
  const responses = baseRequest.interceptors.response.use(
    (response) => response,
    (error) => {
      const status = error.response?.status ?? 0;
      const errors = error.response?.data?.errors ?? [
        { reason: `${NETWORK_FAILURE}: ${error.message}` },
      ];
      return Promise.reject({ status, errors });
    },
  );
  return () => {
    baseRequest.interceptors.request.eject(requests);
    baseRequest.interceptors.response.eject(responses);
  };
}

/** utoa() from Cloud Manager's utilities: user data travels base64-encoded. */
const utoa = (text) => btoa(unescape(encodeURIComponent(text)));

/** The body Cloud Manager's getLinodeCreatePayload() posts for the OS tab.
 *
 * `networking: "classic"`: the form without the new networking UI, whose interfaces
 * (empty VPC, VLAN and public slots) collapse to none, so none are sent.
 * `networking: "legacy-interfaces"`: the new networking UI on an account whose setting
 * is legacy_config_only: one public interface converted to a legacy one, the account's
 * maintenance policy, and the firewall chosen in the form. No `booted`: Cloud Manager
 * never sends it (the API boots the Linode by default). */
export function createPayload(options, settings, firewallId) {
  const base = {
    authorized_users: [],
    image: options.image,
    label: options.label,
    private_ip: false,
    region: options.region,
    root_pass: options.rootPass,
    type: options.type,
  };
  if (options.userData) base.metadata = { user_data: utoa(options.userData) };
  if (options.networking !== "legacy-interfaces") return base;
  return {
    ...base,
    firewall_id: firewallId,
    interface_generation: "legacy_config",
    interfaces: [{ purpose: "public" }],
    maintenance_policy: settings?.maintenance_policy,
  };
}

/** Cloud Manager's event filters: the first fetch (the last 7 days) and the poll. */
function eventFilters(since) {
  const order = { "+order": "desc", "+order_by": "id" };
  const notProfile = { action: { "+neq": "profile_update" } };
  return {
    first: { ...notProfile, ...order, created: { "+gt": since } },
    poll: (ids) => ({
      "+or": [{ created: { "+gte": since } }, ...ids.map((id) => ({ id }))],
      ...notProfile,
      ...order,
    }),
  };
}

function isoNoZone(date) {
  return date.toISOString().slice(0, 19); // ISO_DATETIME_NO_TZ_FORMAT
}

class Recorder {
  constructor() {
    this.steps = [];
  }

  /** Run one SDK call; record its data or its errors. Client-side validation (yup)
   * rejects with a bare error list before any request: recorded with status null. */
  async call(name, fn) {
    try {
      const data = await fn();
      this.steps.push({ name, ok: true, data });
      return data;
    } catch (failure) {
      if (Array.isArray(failure)) {
        this.steps.push({ name, ok: false, status: null, errors: failure });
      } else {
        const errors = failure?.errors ?? [{ reason: String(failure) }];
        this.steps.push({ name, ok: false, status: failure?.status ?? 0, errors });
      }
      return undefined;
    }
  }
}

/** What the create page asks for when it opens (in the order its queries start). */
async function startUp(sdk, rec, options) {
  await rec.call("getProfile", () => sdk.getProfile());
  await rec.call("getAccountInfo", () => sdk.getAccountInfo());
  const settings = await rec.call("getAccountSettings", () => sdk.getAccountSettings());
  await rec.call("getRegions", () => sdk.getRegions({ page_size: PAGE_SIZE }));
  await rec.call("getLinodeTypes", () => sdk.getLinodeTypes({ page_size: PAGE_SIZE }));
  if (options.checkType) {
    await rec.call("getType", () => sdk.getType(options.checkType));
  }
  const imageFilter = { "+order": "desc", "+order_by": "label", is_public: true };
  await rec.call("getImages", () => sdk.getImages({ page_size: PAGE_SIZE }, imageFilter));
  await rec.call("getLinodes", () => sdk.getLinodes({ page_size: PAGE_SIZE }, {}));
  await rec.call("getAccountAvailabilities", () =>
    sdk.getAccountAvailabilities({ page_size: PAGE_SIZE }),
  );
  await rec.call("getRegionAvailabilities", () =>
    sdk.getRegionAvailabilities({ page_size: PAGE_SIZE }),
  );
  await rec.call("getRegionAvailability", () => sdk.getRegionAvailability(options.region));
  await rec.call("getFirewalls", () => sdk.getFirewalls({ page_size: PAGE_SIZE }));
  await rec.call("getSSHKeys", () => sdk.getSSHKeys({ page_size: PAGE_SIZE }));
  await rec.call("getUsers", () => sdk.getUsers({ page_size: PAGE_SIZE }));
  const preferences = await rec.call("getUserPreferences", () => sdk.getUserPreferences());
  await rec.call("updateUserPreferences", () =>
    sdk.updateUserPreferences({ ...preferences, linodes_view_style: "list" }),
  );
  return settings;
}

/** The firewall drawer on the create page (only when the form picks a firewall). */
async function firewallDrawer(sdk, rec, options) {
  if (options.networking !== "legacy-interfaces") return undefined;
  const firewall = await rec.call("createFirewall", () =>
    sdk.createFirewall({
      label: `${options.label}-fw`,
      rules: { inbound_policy: "DROP", outbound_policy: "ACCEPT" },
    }),
  );
  return firewall?.id;
}

/** After the create: the Linode's page, the events poller, the notification menu. */
async function afterCreate(sdk, rec, linode, since) {
  await rec.call("getLinode", () => sdk.getLinode(linode.id));
  // The Linode's page: its configs, disks and addresses (LinodeDetail's tabs).
  await rec.call("getLinodeConfigs", () => sdk.getLinodeConfigs(linode.id));
  await rec.call("getLinodeDisks", () => sdk.getLinodeDisks(linode.id));
  await rec.call("getLinodeIPs", () => sdk.getLinodeIPs(linode.id));
  const filters = eventFilters(since);
  const events = await rec.call("getEvents", () => sdk.getEvents({}, filters.first));
  const ids = (events?.data ?? []).map((event) => event.id);
  await rec.call("getEvents (poll)", () => sdk.getEvents({}, filters.poll(ids)));
  if (ids.length) await rec.call("markEventSeen", () => sdk.markEventSeen(ids[0]));
  await rec.call("deleteLinode", () => sdk.deleteLinode(linode.id));
  await rec.call("getLinode (deleted)", () => sdk.getLinode(linode.id));
}

/** The whole flow; every call is recorded, none throws. */
export async function runCreateFlow(sdk, options) {
  const undo = configure(sdk, options.root, options.token);
  const rec = new Recorder();
  const since = isoNoZone(new Date(Date.now() - 7 * 24 * 3600 * 1000));
  try {
    const settings = await startUp(sdk, rec, options);
    const firewallId = await firewallDrawer(sdk, rec, options);
    const refused = createPayload(options, settings, firewallId);
    await rec.call("createLinode (invalid)", () => sdk.createLinode({ ...refused, region: "" }));
    await rec.call("createLinode (unknown type)", () =>
      sdk.createLinode({ ...refused, type: "g6-no-such-plan" }),
    );
    const payload = createPayload(options, settings, firewallId);
    const linode = await rec.call("createLinode", () => sdk.createLinode(payload));
    rec.steps.at(-1).payload = payload;
    if (linode) await afterCreate(sdk, rec, linode, since);
    await rec.call("getLinode (unknown)", () => sdk.getLinode(987654321));
    if (firewallId) await rec.call("deleteFirewall", () => sdk.deleteFirewall(firewallId));
  } finally {
    undo();
  }
  return { steps: rec.steps, skipped: SKIPPED };
}
