/** The built-in apps, registered by name (worker/app.ts registry). */
