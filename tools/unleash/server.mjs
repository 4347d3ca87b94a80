// Start a real Unleash server for cloudapi's tests. bin/unleash-server runs this with
// DATABASE_URL, INIT_ADMIN_API_TOKENS and INIT_CLIENT_API_TOKENS set; PORT picks the port.
// UNLEASH_WATCH_PID (optional): exit when that process (e.g. the pytest run) is gone, so a
// killed test run leaves no server behind.
import { start } from 'unleash-server';

const port = Number(process.env.PORT || 4242);

const unleash = await start({
  db: { ssl: false },
  server: { port },
  versionCheck: { enable: false },
  sendTelemetry: false,
});

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  // Close the HTTP server and the database pool; don't hang on it.
  setTimeout(() => process.exit(code), 5000).unref();
  try {
    await unleash.stop();
  } finally {
    process.exit(code);
  }
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => shutdown(0));
}

const watched = Number(process.env.UNLEASH_WATCH_PID || 0);
if (watched > 0) {
  setInterval(() => {
    try {
      process.kill(watched, 0);
    } catch {
      console.error(`unleash: watched process ${watched} is gone; stopping`);
      shutdown(0);
    }
  }, 2000).unref();
}
