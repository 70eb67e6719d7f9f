// DsgymDebezium runs Debezium's embedded engine with the properties in a file
// and prints every change event to stdout as one JSON line:
//
//   {"topic":"outbox.event.order","key":<JSON or null>,"value":<JSON or null>}
//
// plus "headers":{"id":"<uuid>",...} when the event has headers: the outbox
// EventRouter puts the outbox row's id there, which is what a consumer
// deduplicates on (Debezium's own __debezium.* headers are left out). key and
// value are the JSON documents Debezium's Json format produced, embedded as
// JSON (not quoted); a header's {"schema","payload"} envelope is unwrapped.
// Logs go to stderr (slf4j-simple), so stdout holds only events.
//
// Run it with the JRE's source launcher, no build step:
//
//   java -cp "$DEBEZIUM_LIBS/*" DsgymDebezium.java connector.properties
//
// The properties are Debezium's own (plugin.name=pgoutput, slot.name=...,
// publication.autocreate.mode=filtered, table.include.list=public.outbox,
// snapshot.mode=no_data, offset.storage.file.filename=..., transforms=outbox,
// transforms.outbox.type=io.debezium.transforms.outbox.EventRouter, ...);
// only name, connector.class (PostgreSQL) and offset.storage (a file) have
// defaults here. An event's offset is committed only after its line has been
// written and flushed, so delivery is at-least-once: after a crash, events
// since the last offset flush (offset.flush.interval.ms) come again.
//
// SIGTERM or SIGINT stops the engine cleanly (offsets flushed) and exits with
// the signal's usual status (143, 130). Exit status 1: the engine failed
// (one line on stderr says why); 2: a usage or properties-file problem.

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.Header;
import io.debezium.engine.format.Json;
import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

public class DsgymDebezium {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: java -cp \"libs/*\" DsgymDebezium.java PROPERTIES_FILE");
            System.exit(2);
        }
        Properties props = new Properties();
        try (Reader r = Files.newBufferedReader(Path.of(args[0]), StandardCharsets.UTF_8)) {
            props.load(r);
        } catch (NoSuchFileException e) {
            System.err.println("dsgym-debezium: there is no properties file " + args[0] + ".");
            System.exit(2);
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("dsgym-debezium: cannot read the properties file " + args[0] + ": " + e.getMessage());
            System.exit(2);
        }
        props.putIfAbsent("name", "dsgym-debezium");
        props.putIfAbsent("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        props.putIfAbsent("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
        if (props.getProperty("offset.storage").endsWith("FileOffsetBackingStore")
                && props.getProperty("offset.storage.file.filename", "").isEmpty()) {
            System.err.println("dsgym-debezium: " + args[0]
                    + " must set offset.storage.file.filename (where the engine keeps its position).");
            System.exit(2);
        }

        Writer out = new BufferedWriter(
                new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8), 1 << 16);
        CountDownLatch done = new CountDownLatch(1);
        AtomicInteger status = new AtomicInteger(0);

        DebeziumEngine<ChangeEvent<String, String>> engine = DebeziumEngine.create(Json.class, Json.class, Json.class)
                .using(props)
                .notifying((List<ChangeEvent<String, String>> batch,
                            DebeziumEngine.RecordCommitter<ChangeEvent<String, String>> committer) -> {
                    try {
                        for (ChangeEvent<String, String> ev : batch) {
                            out.write(line(ev));
                            out.write('\n');
                        }
                        out.flush();
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot write events to stdout", e);
                    }
                    // Only now that the lines are out may their offsets be committed.
                    for (ChangeEvent<String, String> ev : batch) {
                        committer.markProcessed(ev);
                    }
                    committer.markBatchFinished();
                })
                .using((boolean success, String message, Throwable error) -> {
                    if (!success) {
                        status.set(1);
                        System.err.println("dsgym-debezium: the engine stopped: " + message
                                + (error != null && error.getMessage() != null && !message.contains(error.getMessage())
                                        ? ": " + error.getMessage() : ""));
                    }
                    done.countDown();
                })
                .build();

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (done.getCount() == 0) {
                return;
            }
            try {
                engine.close();
                done.await(30, TimeUnit.SECONDS);
                out.flush();
            } catch (Exception e) {
                System.err.println("dsgym-debezium: stopping the engine: " + e);
            }
        }, "dsgym-debezium-shutdown"));

        Thread runner = new Thread(engine, "dsgym-debezium-engine");
        runner.start();
        done.await();
        System.exit(status.get());
    }

    // line renders one change event as a single JSON line.
    static String line(ChangeEvent<String, String> ev) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("topic", ev.destination());
        o.set("key", parse(ev.key()));
        o.set("value", parse(ev.value()));
        ObjectNode h = null;
        List<Header<String>> headers = ev.headers();
        for (Header<String> header : headers == null ? List.<Header<String>>of() : headers) {
            if (header.getKey().startsWith("__debezium.")) {
                continue; // the engine's own bookkeeping (connector name, task, run id)
            }
            if (h == null) {
                h = o.putObject("headers");
            }
            Object v = header.getValue();
            h.set(header.getKey(), v == null ? JSON.nullNode() : unwrap(parse(v.toString())));
        }
        return JSON.writeValueAsString(o);
    }

    // unwrap drops the {"schema":...,"payload":...} envelope the header
    // converter adds, keeping the payload.
    static JsonNode unwrap(JsonNode n) {
        if (n.isObject() && n.size() == 2 && n.has("schema") && n.has("payload")) {
            return n.get("payload");
        }
        return n;
    }

    // parse reads a JSON document the Json format produced; text that is not
    // JSON is kept as a JSON string rather than dropped.
    static JsonNode parse(String s) {
        if (s == null) {
            return JSON.nullNode();
        }
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            return JSON.getNodeFactory().textNode(s);
        }
    }
}
