package dev.glimpse.job;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.util.MultipleParameterTool;

/**
 * The arguments of {@link GlimpseJob#main}: the options of {@code bin/glimpse run}, or {@code
 * reprocess} and the options of {@code bin/glimpse reprocess}, read with Flink's own parameter tool
 * (the cluster jar carries no command-line library). {@code --name value} and {@code --name=value}
 * both work; {@code --set} repeats. An unknown option, a missing value or a missing required option
 * fails with a message that names it. Options that only mean something to bin/glimpse's local cluster
 * are taken and reported as ignored.
 */
public record ClusterArguments(RunArguments run, ReprocessArguments reprocess, boolean quiet, boolean help,
                               List<String> ignoredLocalOptions) {
    private static final Set<String> JOB = Set.of("config", "set", "model", "help");
    private static final Set<String> RUN = Set.of("bootstrap", "images-topic", "captions-topic", "dead-letter-topic",
            "checkpoint-dir", "resume", "from-savepoint");
    private static final Set<String> RUN_LOCAL = Set.of("rest-port", "prometheus-port");
    private static final Set<String> REPROCESS = Set.of("from", "from-offsets", "until-offsets", "to",
            "dead-letter-topic", "prompt", "skip-existing", "quiet", "extensions");
    private static final Set<String> REPROCESS_LOCAL = Set.of("timeout", "prometheus-port", "gallery", "rest-port");
    private static final Set<String> FLAGS = Set.of("resume", "skip-existing", "quiet", "help");
    /** What {@link MultipleParameterTool} stores for an option given without a value. */
    private static final String NO_VALUE = "__NO_VALUE_KEY";

    static final String USAGE = """
            dev.glimpse.job.GlimpseJob: the Glimpse job on a Flink cluster (flink run ... glimpse-job-cluster.jar ARGS)
              ARGS: the options of bin/glimpse run:
                [--config FILE] [--set KEY=VALUE]... [--model DIR] [--bootstrap SERVERS] [--images-topic T]
                [--captions-topic T] [--dead-letter-topic T] [--checkpoint-dir DIR] [--resume] [--from-savepoint PATH]
              or: reprocess and the options of bin/glimpse reprocess:
                reprocess --from SOURCE --to SINK [--from-offsets X] [--until-offsets X] [--dead-letter-topic T]
                [--prompt TEXT] [--skip-existing] [--extensions EXT,...] [--quiet] [--config FILE] [--set KEY=VALUE]...
                [--model DIR]
            """;

    public static ClusterArguments parse(String[] args) {
        boolean isReprocess = args.length > 0 && args[0].equals("reprocess");
        String[] options = isReprocess ? Arrays.copyOfRange(args, 1, args.length) : args;
        MultipleParameterTool p = MultipleParameterTool.fromArgs(splitEquals(options));
        Set<String> known = new TreeSet<>(JOB);
        known.addAll(isReprocess ? REPROCESS : RUN);
        Set<String> local = isReprocess ? REPROCESS_LOCAL : RUN_LOCAL;
        List<String> ignored = new ArrayList<>();
        for (String key : p.toMultiMap().keySet()) {
            if (local.contains(key)) {
                ignored.add(key);
            } else if (!known.contains(key)) {
                throw new IllegalArgumentException("unknown option --" + key + (isReprocess ? " of reprocess" : "")
                        + "\n" + USAGE);
            }
        }
        if (flag(p, "help")) {
            return new ClusterArguments(null, null, false, true, List.of());
        }
        JobArguments job = new JobArguments(path(value(p, "config")), sets(p), path(value(p, "model")));
        if (isReprocess) {
            String extensions = value(p, "extensions");
            ReprocessArguments r = new ReprocessArguments(job, required(p, "from"),
                    valueOr(p, "from-offsets", "earliest"), valueOr(p, "until-offsets", "latest"), required(p, "to"),
                    value(p, "dead-letter-topic"), value(p, "prompt"), flag(p, "skip-existing"),
                    extensions == null ? null : List.of(extensions.split(",")));
            return new ClusterArguments(null, r, flag(p, "quiet"), false, ignored);
        }
        RunArguments run = new RunArguments(job, value(p, "bootstrap"), value(p, "images-topic"),
                value(p, "captions-topic"), value(p, "dead-letter-topic"), value(p, "checkpoint-dir"),
                flag(p, "resume"), value(p, "from-savepoint"));
        return new ClusterArguments(run, null, false, false, ignored);
    }

    /** {@code --name=value} as {@code --name value}: the parameter tool knows only the latter. */
    private static String[] splitEquals(String[] args) {
        List<String> out = new ArrayList<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 2) {
                out.add(a.substring(0, eq));
                out.add(a.substring(eq + 1));
            } else {
                out.add(a);
            }
        }
        return out.toArray(String[]::new);
    }

    private static boolean flag(MultipleParameterTool p, String name) {
        if (!p.has(name)) {
            return false;
        }
        String v = p.get(name);
        if (FLAGS.contains(name) && (NO_VALUE.equals(v) || "true".equals(v))) {
            return true;
        }
        if ("false".equals(v)) {
            return false;
        }
        throw new IllegalArgumentException("option --" + name + " takes no value, got '" + v + "'");
    }

    private static String value(MultipleParameterTool p, String name) {
        if (!p.has(name)) {
            return null;
        }
        Collection<String> all = p.getMultiParameter(name);
        if (all.size() > 1) {
            throw new IllegalArgumentException("option --" + name + " given " + all.size() + " times");
        }
        String v = all.iterator().next();
        if (NO_VALUE.equals(v)) {
            throw new IllegalArgumentException("option --" + name + " needs a value");
        }
        return v;
    }

    private static String valueOr(MultipleParameterTool p, String name, String fallback) {
        String v = value(p, name);
        return v != null ? v : fallback;
    }

    private static String required(MultipleParameterTool p, String name) {
        String v = value(p, name);
        if (v == null) {
            throw new IllegalArgumentException("missing required option --" + name + "\n" + USAGE);
        }
        return v;
    }

    private static Path path(String v) {
        return v == null ? null : Path.of(v);
    }

    /** Every {@code --set KEY=VALUE}, in order; a later one of the same key wins. */
    private static Map<String, String> sets(MultipleParameterTool p) {
        Map<String, String> set = new LinkedHashMap<>();
        if (!p.has("set")) {
            return set;
        }
        for (String kv : p.getMultiParameter("set")) {
            int eq = kv.indexOf('=');
            if (eq < 1) {
                throw new IllegalArgumentException("--set expects KEY=VALUE, got '" + (NO_VALUE.equals(kv) ? "" : kv) + "'");
            }
            set.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return set;
    }
}
