/** The built-in apps, registered by name (worker/app.ts registry) when this module loads. */
import './echo.js';
import './discard.js';
import './http-lite.js';
import './bulk-sender.js';
import './rr-client.js';
import './crr-client.js';
