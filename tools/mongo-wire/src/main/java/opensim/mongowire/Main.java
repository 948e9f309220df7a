package opensim.mongowire;

import java.io.File;
import java.util.List;

import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.message.MongoMessage;

/**
 * A MongoDB-wire-protocol server for tests on machines where no MongoDB binary can run:
 * mongo-java-server with its H2 MVStore backend, stored in one file so data survives a restart.
 *
 * Configuration (environment):
 *   MONGO_HOST  listen address (default 127.0.0.1)
 *   MONGO_PORT  listen port (default 27017)
 *   MONGO_FILE  MVStore file (default .services/mongo/mongo.mv.db)
 *   MONGO_CACHE_MB  MVStore page cache (default 256). With H2's own default of 16 MB the
 *               pipeline ran 32 % slower at 1,000,000 lines than at 10,000; with 256 MB, 13 %
 *               (BENCHMARKS.md)
 *
 * Two things differ from a plain {@code new MongoServer(new H2Backend(file))}:
 * - the server announces MongoDB 4.4 / wire version 9, the lowest that the mongodb 7.x Node
 *   driver accepts (mongo-java-server's newest built-in version, "5.0", announces wire 8);
 * - every command is followed by an MVStore commit, so an acknowledged write is in the file
 *   even if the process is killed (the MVStore default only commits about once a second).
 */
public final class Main {

    /** What the handshake announces. */
    private static final MongoVersion VERSION = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
            return 9;
        }
    };

    /** H2 backend that commits after each command. */
    static final class CommittingH2Backend extends H2Backend {
        CommittingH2Backend(MVStore store) {
            super(store);
        }

        @Override
        public Document handleMessage(MongoMessage message) {
            try {
                return super.handleMessage(message);
            } finally {
                commitQuietly();
            }
        }

        private void commitQuietly() {
            MVStore store = getMvStore();
            if (!store.isClosed() && store.hasUnsavedChanges()) {
                store.commit();
            }
        }
    }

    private Main() {
    }

    public static void main(String[] args) {
        String host = env("MONGO_HOST", "127.0.0.1");
        int port = Integer.parseInt(env("MONGO_PORT", "27017"));
        File file = new File(env("MONGO_FILE", ".services/mongo/mongo.mv.db")).getAbsoluteFile();
        File dir = file.getParentFile();
        if (dir != null && !dir.isDirectory() && !dir.mkdirs()) {
            throw new IllegalStateException("cannot create " + dir);
        }

        int cacheMb = Integer.parseInt(env("MONGO_CACHE_MB", "256"));
        MVStore store = new MVStore.Builder().fileName(file.getPath()).cacheSize(cacheMb).open();
        CommittingH2Backend backend = new CommittingH2Backend(store);
        backend.version(VERSION);
        MongoServer server = new MongoServer(backend);

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("mongo-wire: shutting down");
            try {
                server.shutdownNow();
            } finally {
                if (!store.isClosed()) {
                    store.close();
                }
            }
        }, "mongo-wire-shutdown"));

        server.bind(host, port);
        System.err.println("mongo-wire: listening on " + host + ":" + port + ", data in " + file);
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }
}
