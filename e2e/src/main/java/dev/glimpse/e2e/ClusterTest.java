package dev.glimpse.e2e;

import dev.glimpse.cli.Subcommand;
import dev.glimpse.job.Installation;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.training.ScenesModel;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code glimpse cluster-test}: the deployment of docs/deployment.md, for real, on this machine and
 * without Docker. A Kafka broker (KRaft), a Flink JobManager and two TaskManagers run as separate
 * JVMs; Flink's class path is cut from the Maven build like flink-dist's lib/ (Flink, log4j, and the
 * DJL/ImageIO jars of dist/target/flink-lib), and the job arrives as the shaded cluster jar through
 * the REST API. The test captions images while it kills a TaskManager (kill -9) and while it cancels
 * and resubmits the job from its latest retained checkpoint on the surviving TaskManager, then checks
 * that every image has exactly one committed outcome and that no TaskManager ever failed to load the
 * native libraries in a second class loader.
 */
@Command(name = "cluster-test", mixinStandardHelpOptions = true,
        description = {"Start Kafka, a Flink JobManager and two TaskManagers as separate JVMs, submit the cluster job jar "
                + "through the REST API, kill a TaskManager and restart the job mid-stream, and check exactly-once output "
                + "and class loading. Needs 'mvn package' (dist/target). Exit code 0 when every check passes."})
public final class ClusterTest implements Callable<Integer>, Subcommand {

    @Option(names = "--model", description = "Model folder (default: the built-in models/glimpse-scenes, else a tiny random model made for the test).")
    Path model;

    @Option(names = "--images", defaultValue = "60", description = "Images to caption (default: ${DEFAULT-VALUE}); at least 12.")
    int images;

    @Option(names = "--keep", description = "Keep the temporary directory (configuration, logs, checkpoints) even on success.")
    boolean keep;

    @Option(names = "--timeout", defaultValue = "20m", converter = DurationConverter.class,
            description = "Give up after this long (default: ${DEFAULT-VALUE}; e.g. 90s, 20m, PT1H).")
    Duration timeout;

    @Option(names = "--seed", defaultValue = "2024", description = "Seed of the generated scenes.")
    long seed;

    @Option(names = "--flink-home", paramLabel = "DIR", description = {"Instead, follow docs/deployment.md's steps 'On an existing "
            + "Flink installation' on this Flink folder (laid out here as a Flink 2.2.1 release, from Maven Central's jars, when its lib/ "
            + "holds no Flink): bin/glimpse flink-install, conf/flink/config-additions.yaml appended to Flink's config.yaml, a JobManager "
            + "and one TaskManager with Flink's default single slot started as Flink's scripts start them, the documented submit line "
            + "run by Flink's client (CliFrontend run), every image captioned exactly once, then CliFrontend stop with a savepoint."})
    Path flinkHome;

    @Option(names = "--interval", defaultValue = "150ms", converter = DurationConverter.class,
            description = "Pause between two images sent (default: ${DEFAULT-VALUE}): the images arrive as a stream.")
    Duration interval;

    static final String HOST = "127.0.0.1";
    static final String ENTRY_CLASS = "dev.glimpse.job.GlimpseJob";
    static final String NATIVE_CLASSLOADER_ERROR = "already loaded in another classloader";

    private final PrintStream log = System.err;
    private final long t0 = System.currentTimeMillis();
    private long deadline;
    private Readiness readiness;
    private Path tmp;
    private Path logs;
    private final List<JvmProcess> processes = new ArrayList<>();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final Map<String, String> timings = new LinkedHashMap<>();
    private final List<String[]> checks = new ArrayList<>();
    private final List<String> facts = new ArrayList<>();

    private JvmProcess kafka;
    private JvmProcess jobManager;
    private final Map<String, JvmProcess> taskManagers = new LinkedHashMap<>();
    /** Processes the test ended on purpose (kill -9 of a TaskManager): not a failure when found dead. */
    private final List<JvmProcess> killed = new java.util.concurrent.CopyOnWriteArrayList<>();
    private String bootstrap;
    private FlinkRest rest;

    public static void main(String[] args) {
        System.exit(new CommandLine(new ClusterTest()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (images < 12) {
            throw new IllegalArgumentException("--images must be at least 12");
        }
        deadline = t0 + timeout.toMillis();
        readiness = new Readiness(deadline, "--timeout " + timeout, () -> {
            checkProcesses();
            noteLoad();
        }, this::progress, Readiness.SYSTEM);
        Path home = Installation.home().toAbsolutePath();
        tmp = Files.createTempDirectory("glimpse-cluster-test-");
        logs = tmp.resolve("logs");
        Thread hook = new Thread(this::stopAll, "cluster-test-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        Throwable failure = null;
        try {
            if (flinkHome != null) {
                runOnDistribution(home);
            } else {
                run(home);
            }
        } catch (Throwable t) {
            failure = t;
        } finally {
            stopAll();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The hook is running or ran: nothing to remove.
            }
        }
        if (failure != null) {
            fail("scenario completed", failure.getClass().getSimpleName() + ": " + failure.getMessage());
        }
        boolean pass = failure == null && checks.stream().noneMatch(c -> c[0].equals("FAIL"));
        if (!pass) {
            printLogExcerpts();
        }
        printReport(pass);
        if (keep || !pass) {
            System.out.println("temporary directory kept: " + tmp + " (logs/, conf/, checkpoints/)");
        } else {
            deleteTree(tmp);
        }
        return pass ? 0 : 1;
    }

    // ================================================================================ scenario

    private void run(Path home) throws Exception {
        // The resolved class path of this module: Flink, the Kafka broker and the rest that Maven put together.
        Path classpathFile = home.resolve("e2e/target/classpath.txt");
        Path flinkLibDir = home.resolve("dist/target/flink-lib");
        Path jobJar = clusterJar(home.resolve("dist/target"));
        List<Path> jobClasspath = ClusterLayout.readClasspath(classpathFile);
        List<Path> lib = ClusterLayout.flinkLib(jobClasspath, flinkLibDir);
        List<Path> kafkaClasspath = ClusterLayout.kafkaClasspath(jobClasspath);
        facts.add("job jar   : " + jobJar + " (" + Files.size(jobJar) / (1024 * 1024) + " MB)");
        facts.add("lib/      : " + lib.size() + " jars: " + summarizeLib(lib, flinkLibDir));
        facts.add("tmp       : " + tmp);
        progress("temporary directory " + tmp);

        Path modelDir = resolveModel(home);
        String run = UUID.randomUUID().toString().substring(0, 8);
        String imagesTopic = "ct-images-" + run;
        String captionsTopic = "ct-captions-" + run;
        String deadLetterTopic = "ct-dlq-" + run;

        // ---------------------------------------------------------------- Kafka
        long t = System.currentTimeMillis();
        startKafka(kafkaClasspath);
        createTopics(Map.of(imagesTopic, 2, captionsTopic, 2, deadLetterTopic, 1));
        timings.put("Kafka broker formatted, started, topics created", secs(System.currentTimeMillis() - t));

        // ---------------------------------------------------------------- Flink
        t = System.currentTimeMillis();
        startFlink(home, lib);
        timings.put("Flink JobManager + 2 TaskManagers registered", secs(System.currentTimeMillis() - t));
        awaitCondition("2 free slots (parallelism 2)", () -> rest.overview().path("slots-available").asInt() >= 2);
        pass("cluster up", "JobManager and 2 TaskManagers (2 slots each) registered, slots free; REST " + rest.base);

        // ---------------------------------------------------------------- submit
        Path checkpoints = tmp.resolve("checkpoints");
        List<String> programArgs = List.of(
                "--set", "kafka.bootstrap-servers=" + bootstrap,
                "--set", "kafka.images-topic=" + imagesTopic,
                "--set", "kafka.captions-topic=" + captionsTopic,
                "--set", "kafka.dead-letter-topic=" + deadLetterTopic,
                "--set", "kafka.group-id=glimpse-ct-" + run,
                "--set", "kafka.transactional-id-prefix=glimpse-ct-" + run,
                "--set", "model.dir=" + modelDir,
                "--set", "checkpoint.dir=" + checkpoints,
                "--set", "checkpoint.interval=1s",
                "--set", "parallelism.decode=2",
                "--set", "parallelism.inference=2");
        t = System.currentTimeMillis();
        String jarId = rest.uploadJar(jobJar);
        String job = submit(jarId, programArgs, null);
        awaitCondition("job " + job + " to run every subtask", () -> rest.allRunning(job));
        List<String> initialTms = rest.taskManagersOf(job);
        timings.put("jar upload + submission -> every subtask RUNNING", secs(System.currentTimeMillis() - t));
        facts.add("job 1     : " + job + " on " + initialTms);

        // ---------------------------------------------------------------- phase 1: a stream of images; kill a TaskManager
        SceneGenerator scenes = new SceneGenerator(seed);
        int killAfter = images / 3;
        int firstStreamEnd = images * 5 / 6;
        try (OutcomeReader outcomes = new OutcomeReader(bootstrap, captionsTopic, deadLetterTopic);
             KafkaProducer<byte[], byte[]> producer = producer()) {
            long firstSent = System.currentTimeMillis();
            ImageStream stream = new ImageStream(producer, imagesTopic, scenes, 0, firstStreamEnd, interval.toMillis());
            awaitCondition("the first committed outcome", () -> outcomes.distinctIds() > 0);
            timings.put("first image sent -> first committed outcome", secs(System.currentTimeMillis() - firstSent));
            awaitCondition(killAfter + " committed outcomes", () -> outcomes.distinctIds() >= killAfter);
            int committedAtKill = outcomes.distinctIds();
            int sentAtKill = stream.sent();

            List<String> running = rest.taskManagersOf(job);
            String victim = running.contains("tm-2") ? "tm-2" : running.get(0);
            String survivor = victim.equals("tm-1") ? "tm-2" : "tm-1";
            long killedAt = System.currentTimeMillis();
            killed.add(taskManagers.get(victim));
            taskManagers.get(victim).kill();
            String when = committedAtKill + " outcomes committed, " + sentAtKill + " images sent";
            progress("killed " + victim + " (kill -9, pid " + taskManagers.get(victim).pid() + ") with " + when
                    + "; the job ran on " + running);
            facts.add("killed    : " + victim + " (kill -9) with " + when + " of " + images + "; survivor " + survivor);

            // ------------------------------------------------------------ phase 2: recovery while images keep coming
            awaitCondition("the JobManager to notice the loss of " + victim,
                    () -> rest.overview().path("taskmanagers").asInt() == 1);
            timings.put("kill -9 -> JobManager dropped the TaskManager", secs(System.currentTimeMillis() - killedAt));
            awaitCondition("job " + job + " to run again, on " + survivor + " only",
                    () -> rest.allRunning(job) && rest.taskManagersOf(job).equals(List.of(survivor)));
            timings.put("kill -9 -> every subtask RUNNING on the survivor", secs(System.currentTimeMillis() - killedAt));
            List<String> failures = rest.exceptionHistory(job, killedAt);
            check(!failures.isEmpty(), "recovery on the surviving TaskManager", "all subtasks RUNNING again, on " + survivor
                    + " only, after " + victim + " was killed; " + failures.size() + " failure(s) in the job's exception history since");
            if (!failures.isEmpty()) {
                facts.add("failover  : " + failures.get(failures.size() - 1));
            }
            awaitCondition("a committed outcome after the kill",
                    () -> outcomes.outcomes().stream().anyMatch(o -> o.atMillis() > killedAt));
            timings.put("kill -9 -> next committed outcome", secs(firstAfter(outcomes, killedAt) - killedAt));
            stream.await();
            awaitCondition("outcomes for images 0.." + (firstStreamEnd - 1),
                    () -> hasOutcomes(outcomes, 0, firstStreamEnd));

            // ------------------------------------------------------------ phase 3: cancel mid-stream, resume from the checkpoint
            Path survivorLog = logs.resolve(survivor + ".log");
            int loadsBefore = countLines(survivorLog, "loaded model");
            long phase3 = System.currentTimeMillis();
            ImageStream last = new ImageStream(producer, imagesTopic, scenes, firstStreamEnd, images, Math.max(300, interval.toMillis()));
            awaitCondition("a committed outcome of the last images",
                    () -> outcomes.outcomes().stream().anyMatch(o -> o.atMillis() > phase3));
            long cancelAt = System.currentTimeMillis();
            rest.cancel(job);
            int committedAtCancel = outcomes.distinctIds();
            int sentAtCancel = firstStreamEnd + last.sent();
            awaitCondition("job " + job + " to be CANCELED",
                    () -> "CANCELED".equals(rest.job(job).path("state").asText()));
            String checkpoint = latestRetainedCheckpoint(job, checkpoints);
            String cancelWhen = committedAtCancel + " outcomes committed, " + sentAtCancel + " images sent";
            progress("cancelled " + job + " with " + cancelWhen + "; resuming from " + checkpoint);
            String job2 = submit(jarId, programArgs, checkpoint);
            awaitCondition("job " + job2 + " to run every subtask", () -> rest.allRunning(job2));
            timings.put("cancel -> resubmitted job RUNNING from its checkpoint", secs(System.currentTimeMillis() - cancelAt));
            List<String> job2Tms = rest.taskManagersOf(job2);
            facts.add("cancelled : job 1 with " + cancelWhen + "; restored from " + checkpoint);
            facts.add("job 2     : " + job2 + " on " + job2Tms);
            check(job2Tms.equals(List.of(survivor)), "restart on the same TaskManager",
                    "job 2 runs on " + job2Tms + " (survivor " + survivor + "), in a new user-code class loader");
            last.await();
            awaitCondition("outcomes for all " + images + " images",
                    () -> hasOutcomes(outcomes, 0, images));
            timings.put("first image sent -> last outcome committed", secs(System.currentTimeMillis() - firstSent));
            // Let two more checkpoints commit: a duplicate would show up now.
            long settled = rest.completedCheckpoints(job2) + 2;
            awaitCondition("two more checkpoints", () -> rest.completedCheckpoints(job2) >= settled);
            Thread.sleep(1500);

            int loadsAfter = countLines(survivorLog, "loaded model");
            check(loadsAfter > loadsBefore, "model loaded again after the restart",
                    survivor + " logged 'loaded model' " + loadsBefore + "x before the cancel, " + loadsAfter + "x after");
            verifyOutcomes(outcomes, scenes, modelDir);
        }
        verifyLogs();
    }

    /**
     * docs/deployment.md, "On an existing Flink installation", step by step on {@code --flink-home}:
     * flink-install, the keys appended to Flink's config.yaml, the topics, the JobManager and one
     * TaskManager (Flink's default single slot) started as bin/start-cluster.sh starts them, the
     * documented submit line run by Flink's own client, a stream of images, the stop with a savepoint.
     */
    private void runOnDistribution(Path home) throws Exception {
        List<Path> jobClasspath = ClusterLayout.readClasspath(home.resolve("e2e/target/classpath.txt"));
        Path jobJar = clusterJar(home.resolve("dist/target"));
        FlinkDistribution flink = new FlinkDistribution(flinkHome);
        if (!flink.isLaidOut()) {
            long t = System.currentTimeMillis();
            String laidOut = flink.layOut(jobClasspath);
            timings.put("Flink folder laid out as a release", secs(System.currentTimeMillis() - t));
            facts.add("flink home: " + flink.home + ": " + laidOut);
        } else {
            facts.add("flink home: " + flink.home + " (its own lib/, conf/config.yaml, plugins/)");
        }
        facts.add("job jar   : " + jobJar + " (" + Files.size(jobJar) / (1024 * 1024) + " MB)");
        facts.add("tmp       : " + tmp);

        // Step 2: bin/glimpse flink-install FLINK_HOME.
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        int rc = new CommandLine(new dev.glimpse.cli.FlinkInstall(new PrintStream(printed, true, StandardCharsets.UTF_8)))
                .execute(flink.home.toString());
        String installed = printed.toString(StandardCharsets.UTF_8);
        installed.lines().forEach(l -> progress("flink-install: " + l));
        String summary = installed.lines().filter(l -> l.startsWith("lib/:")).findFirst().orElse("no summary");
        check(rc == 0 && flink.libHas("pytorch-engine") && flink.libHas("imageio-webp"), "step 2: glimpse flink-install " + flink.home,
                "exit " + rc + "; " + summary);

        // Step 3: the keys appended to Flink's config.yaml (a copy per run, with this run's free ports).
        Path conf = Files.createDirectories(tmp.resolve("conf"));
        Path flinkConfig = flink.conf().resolve("config.yaml");
        int[] ports = EmbeddedKafka.freePorts(2);
        Files.writeString(conf.resolve("config.yaml"), FlinkDistribution.runConfig(Files.readString(flinkConfig), ports[0], ports[1],
                Files.readString(home.resolve(dev.glimpse.cli.FlinkInstall.CONFIG_ADDITIONS))));
        Path log4j = conf.resolve("log4j.properties");
        Files.writeString(log4j, ClusterLayout.flinkLog4j());
        Configuration config = ClusterLayout.loadFlinkConfiguration(conf);
        facts.add("config    : " + conf.resolve("config.yaml") + " = " + flinkConfig + " + " + dev.glimpse.cli.FlinkInstall.CONFIG_ADDITIONS
                + " (jobmanager.rpc.port " + ports[0] + ", rest.port " + ports[1] + ")");

        // Step 5 (before the job): Kafka and its topics.
        Path modelDir = resolveModel(home);
        String run = UUID.randomUUID().toString().substring(0, 8);
        String imagesTopic = "dt-images-" + run;
        String captionsTopic = "dt-captions-" + run;
        String deadLetterTopic = "dt-dlq-" + run;
        long t = System.currentTimeMillis();
        startKafka(ClusterLayout.kafkaClasspath(jobClasspath));
        createTopics(Map.of(imagesTopic, 1, captionsTopic, 1, deadLetterTopic, 1));
        timings.put("Kafka broker formatted, started, topics created", secs(System.currentTimeMillis() - t));

        // Step 4: bin/start-cluster.sh: a JobManager, then one TaskManager, each with lib/* and env.java.opts.
        t = System.currentTimeMillis();
        String cp = ClusterLayout.joinClasspath(flink.classpath());
        Map<String, String> env = Map.of("FLINK_HOME", flink.home.toString(), "FLINK_CONF_DIR", conf.toString(),
                "FLINK_LIB_DIR", flink.lib().toString(), "FLINK_PLUGINS_DIR", flink.plugins().toString(),
                "FLINK_BIN_DIR", flink.home.resolve("bin").toString());
        rest = new FlinkRest("http://localhost:" + ports[1]);
        List<List<String>> jmMemory = ClusterLayout.jobManagerMemory(config);
        List<String> jmJvm = new ArrayList<>(jmMemory.get(0));
        jmJvm.addAll(FlinkDistribution.jvmOptions(config, org.apache.flink.configuration.CoreOptions.FLINK_JM_JVM_OPTIONS));
        jmJvm.addAll(logFlags(log4j, "jobmanager"));
        List<String> jmArgs = new ArrayList<>(List.of("--configDir", conf.toString(), "--executionMode", "cluster"));
        jmArgs.addAll(jmMemory.get(1));
        jobManager = track(JvmProcess.start("jobmanager", jmJvm, cp,
                "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint", jmArgs, env, logs));
        progress("JobManager starting (" + jobManager + "), REST " + rest.base);
        List<List<String>> tmMemory = ClusterLayout.taskManagerMemory(config);
        List<String> tmJvm = new ArrayList<>(tmMemory.get(0));
        tmJvm.addAll(FlinkDistribution.jvmOptions(config, org.apache.flink.configuration.CoreOptions.FLINK_TM_JVM_OPTIONS));
        tmJvm.addAll(logFlags(log4j, "tm-1"));
        List<String> tmArgs = new ArrayList<>(List.of("--configDir", conf.toString()));
        tmArgs.addAll(tmMemory.get(1));
        JvmProcess tm = track(JvmProcess.start("tm-1", tmJvm, cp, "org.apache.flink.runtime.taskexecutor.TaskManagerRunner", tmArgs, env, logs));
        taskManagers.put("tm-1", tm);
        progress("TaskManager " + tm + " starting, JVM " + String.join(" ", tmMemory.get(0)));
        awaitCondition("the JobManager's REST API", () -> rest.overview().has("taskmanagers"));
        awaitCondition("the TaskManager to register", () -> rest.overview().path("taskmanagers").asInt() == 1);
        awaitCondition("a free slot", () -> rest.overview().path("slots-available").asInt() >= 1);
        int slots = rest.overview().path("slots-total").asInt();
        timings.put("JobManager + TaskManager registered, slot free", secs(System.currentTimeMillis() - t));
        check(slots == 1, "cluster up with Flink's default slots", "1 TaskManager registered with " + slots + " slot(s); REST " + rest.base);

        // Step 6: the documented submit line, through Flink's client (what bin/flink run executes).
        Path checkpoints = mkdirs("checkpoints");
        List<String> submit = new ArrayList<>(List.of("run", "-d", jobJar.toString(),
                "--set", "kafka.bootstrap-servers=" + bootstrap,
                "--set", "kafka.images-topic=" + imagesTopic,
                "--set", "kafka.captions-topic=" + captionsTopic,
                "--set", "kafka.dead-letter-topic=" + deadLetterTopic,
                "--set", "kafka.group-id=glimpse-dt-" + run,
                "--set", "kafka.transactional-id-prefix=glimpse-dt-" + run,
                "--set", "checkpoint.dir=" + checkpoints.toUri(),
                "--set", "checkpoint.interval=1s",
                "--set", "model.dir=" + modelDir,
                "--set", "parallelism.decode=1", "--set", "parallelism.inference=1"));
        t = System.currentTimeMillis();
        String submitted = flinkClient(flink, config, env, log4j, "client-run", submit);
        Matcher jobId = Pattern.compile("Job has been submitted with JobID ([0-9a-f]{32})").matcher(submitted);
        if (!jobId.find()) {
            throw new IllegalStateException("CliFrontend run printed no job id: " + FlinkRest.abbreviate(submitted));
        }
        String job = jobId.group(1);
        pass("step 6: the job submitted with Flink's client (CliFrontend run -d)", "Job has been submitted with JobID " + job);
        awaitCondition("job " + job + " to run every subtask", () -> rest.allRunning(job));
        timings.put("CliFrontend run -> every subtask RUNNING", secs(System.currentTimeMillis() - t));

        // Images: every one captioned (or dead-lettered) exactly once.
        SceneGenerator scenes = new SceneGenerator(seed);
        try (OutcomeReader outcomes = new OutcomeReader(bootstrap, captionsTopic, deadLetterTopic);
             KafkaProducer<byte[], byte[]> producer = producer()) {
            long firstSent = System.currentTimeMillis();
            ImageStream stream = new ImageStream(producer, imagesTopic, scenes, 0, images, interval.toMillis());
            awaitCondition("the first committed outcome", () -> outcomes.distinctIds() > 0);
            timings.put("first image sent -> first committed outcome", secs(System.currentTimeMillis() - firstSent));
            stream.await();
            awaitCondition("outcomes for all " + images + " images", () -> hasOutcomes(outcomes, 0, images));
            timings.put("first image sent -> last outcome committed", secs(System.currentTimeMillis() - firstSent));
            long settled = rest.completedCheckpoints(job) + 2;
            awaitCondition("two more checkpoints", () -> rest.completedCheckpoints(job) >= settled);
            Thread.sleep(1500);
            verifyOutcomes(outcomes, scenes, modelDir);
        }

        // Section 7: stop with a savepoint, through Flink's client.
        Path savepoints = mkdirs("savepoints");
        t = System.currentTimeMillis();
        String stopped = flinkClient(flink, config, env, log4j, "client-stop",
                List.of("stop", "--savepointPath", savepoints.toUri().toString(), job));
        Matcher path = Pattern.compile("Savepoint completed\\. Path: (\\S+)").matcher(stopped);
        boolean saved = path.find() && Files.isRegularFile(Path.of(java.net.URI.create(path.group(1))).resolve("_metadata"));
        awaitCondition("job " + job + " to finish", () -> "FINISHED".equals(rest.job(job).path("state").asText()));
        timings.put("CliFrontend stop --savepointPath -> FINISHED", secs(System.currentTimeMillis() - t));
        check(saved, "stopped with a savepoint (CliFrontend stop)", saved ? "Savepoint completed. Path: " + path.group(1) + " (holds _metadata)"
                : "no savepoint path with _metadata in: " + FlinkRest.abbreviate(stopped));
        verifyLogs();
    }

    /**
     * Runs Flink's client as bin/flink does: lib/* on the class path, env.java.opts.all and
     * env.java.opts.client, FLINK_CONF_DIR; waits for it and returns what it printed (exit 0 required).
     */
    private String flinkClient(FlinkDistribution flink, Configuration config, Map<String, String> env, Path log4j, String name,
                               List<String> args) throws Exception {
        List<String> jvm = new ArrayList<>(FlinkDistribution.jvmOptions(config, org.apache.flink.configuration.CoreOptions.FLINK_CLI_JVM_OPTIONS));
        jvm.addAll(logFlags(log4j, name));
        progress("bin/flink " + String.join(" ", args));
        JvmProcess client = JvmProcess.start(name, jvm, ClusterLayout.joinClasspath(flink.classpath()),
                "org.apache.flink.client.cli.CliFrontend", args, env, logs);
        Integer rc = client.await(remaining());
        String printed = Files.readString(client.output, StandardCharsets.ISO_8859_1);
        if (rc == null || rc != 0) {
            client.stop(1000);
            throw new IllegalStateException("bin/flink " + args.get(0) + " exited " + rc + ": " + tail(client.output, 30));
        }
        return printed;
    }

    private List<String> logFlags(Path log4j, String name) {
        return List.of("-Dlog.file=" + logs.resolve(name + ".log"), "-Dlog4j.configurationFile=file:" + log4j);
    }

    private void verifyOutcomes(OutcomeReader reader, SceneGenerator scenes, Path modelDir) {
        Set<Integer> corrupt = java.util.stream.IntStream.range(0, images).filter(ClusterTest::corrupt).boxed().collect(Collectors.toSet());
        Map<String, List<OutcomeReader.Outcome>> byId = reader.byId();
        List<String> missing = new ArrayList<>();
        List<String> duplicated = new ArrayList<>();
        List<String> wrongKind = new ArrayList<>();
        Map<String, Integer> codes = new TreeMap<>();
        int captions = 0;
        int deadLetters = 0;
        int matches = 0;
        for (int i = 0; i < images; i++) {
            List<OutcomeReader.Outcome> o = byId.getOrDefault(id(i), List.of());
            if (o.isEmpty()) {
                missing.add(id(i));
                continue;
            }
            if (o.size() > 1) {
                duplicated.add(id(i) + " x" + o.size());
            }
            OutcomeReader.Outcome first = o.get(0);
            if (first.caption()) {
                captions++;
                if (first.text().equals(scenes.sample(i).caption())) {
                    matches++;
                }
            } else {
                deadLetters++;
                codes.merge(first.text(), 1, Integer::sum);
            }
            if (first.caption() == corrupt.contains(i)) {
                wrongKind.add(id(i) + (first.caption() ? " (corrupt, captioned)" : " (valid, dead letter " + first.text() + ")"));
            }
        }
        Set<String> expected = java.util.stream.IntStream.range(0, images).mapToObj(ClusterTest::id).collect(Collectors.toSet());
        List<String> unknown = byId.keySet().stream().filter(k -> !expected.contains(k)).toList();
        int records = reader.outcomes().size();
        check(missing.isEmpty(), "every image has an outcome", (images - missing.size()) + "/" + images
                + (missing.isEmpty() ? "" : "; missing " + abbreviate(missing)));
        check(duplicated.isEmpty() && unknown.isEmpty(), "exactly one outcome per image",
                records + " committed records for " + byId.size() + " ids" + (duplicated.isEmpty() ? "" : "; duplicated " + abbreviate(duplicated))
                        + (unknown.isEmpty() ? "" : "; unknown ids " + abbreviate(unknown)));
        check(wrongKind.isEmpty(), "corrupt images are dead letters, valid ones captions",
                captions + " captions, " + deadLetters + " dead letters " + codes + " for " + corrupt.size() + " corrupt inputs"
                        + (wrongKind.isEmpty() ? "" : "; wrong: " + abbreviate(wrongKind)));
        facts.add("captions  : " + matches + "/" + (images - corrupt.size()) + " equal the scene's ground truth"
                + (modelDir.startsWith(tmp) ? " (tiny random model: expected ~0)" : ""));
    }

    private void verifyLogs() throws IOException {
        List<String> hits = new ArrayList<>();
        List<String> unsatisfied = new ArrayList<>();
        for (String tm : taskManagers.keySet()) {
            for (Path f : List.of(logs.resolve(tm + ".log"), logs.resolve(tm + ".out"))) {
                if (Files.exists(f)) {
                    for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                        if (line.contains(NATIVE_CLASSLOADER_ERROR)) {
                            hits.add(f.getFileName() + ": " + line.trim());
                        }
                        if (line.contains("UnsatisfiedLinkError")) {
                            unsatisfied.add(f.getFileName() + ": " + line.trim());
                        }
                    }
                }
            }
        }
        check(hits.isEmpty(), "no '" + NATIVE_CLASSLOADER_ERROR + "' in the TaskManager logs",
                hits.isEmpty() ? "none in " + taskManagers.keySet() : abbreviate(hits));
        check(unsatisfied.isEmpty(), "no UnsatisfiedLinkError in the TaskManager logs",
                unsatisfied.isEmpty() ? "none" : abbreviate(unsatisfied));
        Map<String, Integer> loads = new LinkedHashMap<>();
        for (String tm : taskManagers.keySet()) {
            loads.put(tm, countLines(logs.resolve(tm + ".log"), "loaded model"));
        }
        facts.add("model     : loads per TaskManager " + loads);
    }

    // ================================================================================ processes

    private void startKafka(List<Path> classpath) throws Exception {
        int[] ports = EmbeddedKafka.freePorts(2);
        Path dir = tmp.resolve("kafka");
        Path data = dir.resolve("data");
        Path props = dir.resolve("server.properties");
        Files.createDirectories(data);
        Files.writeString(props, ClusterLayout.properties(ClusterLayout.kafkaServerProperties(HOST, ports[0], ports[1], data)));
        Path log4j = dir.resolve("log4j2.properties");
        Files.writeString(log4j, ClusterLayout.kafkaLog4j());
        bootstrap = HOST + ":" + ports[0];
        String cp = ClusterLayout.joinClasspath(classpath);
        List<String> jvm = List.of("-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                "-Dlog4j2.configurationFile=" + log4j, "-Dlog.file=" + logs.resolve("kafka.log"),
                "-Djava.io.tmpdir=" + dir);
        JvmProcess format = JvmProcess.start("kafka-format", jvm, cp, "kafka.tools.StorageTool",
                List.of("format", "-t", Uuid.randomUuid().toString(), "-c", props.toString(), "--standalone"), Map.of(), logs);
        Integer rc = format.await(remaining());
        if (rc == null || rc != 0) {
            format.stop(1000);
            throw new IllegalStateException("kafka-storage format failed (exit " + rc + "): " + tail(format.output, 20));
        }
        kafka = track(JvmProcess.start("kafka", jvm, cp, "kafka.Kafka", List.of(props.toString()), Map.of(), logs));
        progress("Kafka broker starting on " + bootstrap + " (" + kafka + ")");
        try (Admin admin = admin()) {
            awaitCondition("the Kafka broker to answer",
                    () -> !admin.describeCluster().nodes().get().isEmpty());
        }
    }

    private void createTopics(Map<String, Integer> topics) throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(topics.entrySet().stream().map(e -> new NewTopic(e.getKey(), e.getValue(), (short) 1)).toList())
                    .all().get();
            awaitCondition("topic leaders", () -> admin.describeTopics(topics.keySet()).allTopicNames().get()
                    .values().stream().allMatch(d -> d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty())));
        }
    }

    private void startFlink(Path home, List<Path> lib) throws Exception {
        int[] ports = EmbeddedKafka.freePorts(2);
        Path conf = tmp.resolve("conf");
        ClusterLayout.Settings settings = new ClusterLayout.Settings(HOST, ports[0], ports[1], mkdirs("io"),
                mkdirs("web-upload"), mkdirs("web"), mkdirs("checkpoints"), mkdirs("savepoints"));
        Path baseFile = home.resolve("conf/flink/config.yaml");
        Map<String, Object> base = ClusterLayout.loadBaseConfig(baseFile);
        Map<String, Object> config = ClusterLayout.clusterConfig(base, settings);
        ClusterLayout.writeYaml(config, conf.resolve("config.yaml"),
                "Written by glimpse cluster-test from " + (Files.isRegularFile(baseFile) ? baseFile : "built-in defaults")
                        + ":\nlocal addresses and ports, temporary directories, small memory sizes.");
        Path log4j = conf.resolve("log4j2.properties");
        Files.writeString(log4j, ClusterLayout.flinkLog4j());
        facts.add("config    : " + conf.resolve("config.yaml") + " (from " + (Files.isRegularFile(baseFile) ? baseFile : "built-in defaults") + ")");
        Configuration flink = ClusterLayout.loadFlinkConfiguration(conf);
        List<String> flinkFlags = ClusterLayout.flinkJvmFlags(base);
        String cp = ClusterLayout.joinClasspath(lib);
        Map<String, String> env = Map.of("DJL_OFFLINE", "true");
        rest = new FlinkRest("http://" + HOST + ":" + ports[1]);

        List<List<String>> jmMemory = ClusterLayout.jobManagerMemory(flink);
        List<String> jmJvm = new ArrayList<>(jmMemory.get(0));
        jmJvm.addAll(flinkFlags);
        jmJvm.addAll(commonFlags(home, log4j, "jobmanager"));
        List<String> jmArgs = new ArrayList<>(List.of("--configDir", conf.toString()));
        jmArgs.addAll(jmMemory.get(1));
        jobManager = track(JvmProcess.start("jobmanager", jmJvm, cp,
                "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint", jmArgs, env, logs));
        progress("JobManager starting (" + jobManager + "), REST " + rest.base + ", JVM " + String.join(" ", jmMemory.get(0)));
        awaitCondition("the JobManager's REST API", () -> rest.overview().has("taskmanagers"));

        List<List<String>> tmMemory = ClusterLayout.taskManagerMemory(flink);
        for (String id : List.of("tm-1", "tm-2")) {
            List<String> jvm = new ArrayList<>(tmMemory.get(0));
            jvm.addAll(flinkFlags);
            jvm.addAll(commonFlags(home, log4j, id));
            jvm.add("-Dai.djl.pytorch.num_threads=1");
            jvm.add("-Dai.djl.pytorch.num_interop_threads=1");
            List<String> args = new ArrayList<>(List.of("--configDir", conf.toString(), "-D", "taskmanager.resource-id=" + id));
            args.addAll(tmMemory.get(1));
            JvmProcess tm = track(JvmProcess.start(id, jvm, cp, "org.apache.flink.runtime.taskexecutor.TaskManagerRunner", args, env, logs));
            taskManagers.put(id, tm);
            progress("TaskManager " + tm + " starting, JVM " + String.join(" ", tmMemory.get(0)));
        }
        awaitCondition("2 TaskManagers to register",
                () -> rest.overview().path("taskmanagers").asInt() == 2);
    }

    private List<String> commonFlags(Path home, Path log4j, String name) {
        return List.of("-Djava.awt.headless=true",
                "-Dlog.file=" + logs.resolve(name + ".log"),
                "-Dlog4j2.configurationFile=" + log4j,
                "-Dai.djl.offline=true",
                "-Dglimpse.home=" + home);
    }

    private JvmProcess track(JvmProcess p) {
        synchronized (processes) {
            processes.add(p);
        }
        return p;
    }

    /** Ends every process this test started: TaskManagers, then the JobManager, then Kafka. */
    private void stopAll() {
        if (!stopped.compareAndSet(false, true)) {
            return;
        }
        List<JvmProcess> all;
        synchronized (processes) {
            all = new ArrayList<>(processes);
        }
        java.util.Collections.reverse(all);
        List<Thread> stoppers = new ArrayList<>();
        for (JvmProcess p : all) {
            if (p == kafka) {
                continue;
            }
            Thread s = new Thread(() -> p.stop(15_000), "stop-" + p.name);
            s.start();
            stoppers.add(s);
        }
        for (Thread s : stoppers) {
            try {
                s.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (kafka != null) {
            kafka.stop(20_000);
        }
        for (JvmProcess p : all) {
            if (p.alive()) {
                log.println("cluster-test: " + p + " still alive after stop");
            }
        }
    }

    // ================================================================================ job

    /**
     * Submits through REST and returns the new job's id. GlimpseJob's main() may fail after it has
     * submitted the job (it waits for the job's result, which a web submission cannot give): then
     * the run request answers an error although the job runs; the test notes it and goes on.
     */
    private String submit(String jarId, List<String> args, String savepointPath) throws Exception {
        List<String> before = rest.jobIds();
        long jmOutput = Files.size(jobManager.output);
        try {
            String id = rest.runJar(jarId, ENTRY_CLASS, args, savepointPath);
            if (checks.stream().noneMatch(c -> c[1].startsWith("REST submission"))) {
                pass("REST submission (POST /jars/<id>/run)", "answered with job id " + id);
            }
            return id;
        } catch (FlinkRest.RestException e) {
            long until = System.currentTimeMillis() + 30_000;
            while (System.currentTimeMillis() < until) {
                List<String> now = rest.jobIds();
                now.removeAll(before);
                if (!now.isEmpty()) {
                    if (checks.stream().noneMatch(c -> c[1].startsWith("REST submission"))) {
                        warn("REST submission (POST /jars/<id>/run)", "the job was submitted and runs, but the run request answered HTTP "
                                + e.status + " because " + ENTRY_CLASS + ".main failed after submitting it: " + e.rootCause()
                                + firstException(jobManager.output, jmOutput));
                    }
                    return now.get(0);
                }
                Thread.sleep(500);
            }
            throw e;
        }
    }

    /** The first exception line a process printed after {@code offset} bytes of its output, as " (first: ...)". */
    static String firstException(Path output, long offset) {
        try {
            byte[] all = Files.readAllBytes(output);
            String text = new String(all, (int) Math.min(offset, all.length), (int) Math.max(0, all.length - offset), StandardCharsets.ISO_8859_1);
            return text.lines().filter(l -> l.matches("^[\\w.$]+(Exception|Error)(: .*)?$")).findFirst()
                    .map(l -> "; its output shows: " + l).orElse("");
        } catch (IOException e) {
            return "";
        }
    }

    /** The job's latest completed checkpoint as the REST API reports it, else the newest chk-n on disk. */
    private String latestRetainedCheckpoint(String job, Path checkpoints) throws Exception {
        String path = rest.latestCheckpoint(job);
        if (path != null && !path.isBlank()) {
            return path;
        }
        Path dir = checkpoints.resolve(job);
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("chk-") && Files.exists(p.resolve("_metadata")))
                    .max(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(4))))
                    .map(p -> p.toUri().toString())
                    .orElseThrow(() -> new IllegalStateException("no retained checkpoint of " + job + " in " + dir));
        }
    }

    // ================================================================================ data

    static String id(int i) {
        return "scene-" + i;
    }

    private KafkaProducer<byte[], byte[]> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(p);
    }

    /** Every twelfth image (index 5, 17, ...) is cut to its first 24 bytes: a known format that cannot be decoded. */
    static boolean corrupt(int i) {
        return i % 12 == 5;
    }

    /**
     * Sends scenes {@code from..to-1} (key = id; corrupt ones per {@link #corrupt}) on its own thread,
     * one every {@code intervalMillis}: a stream, so that a kill or a cancel hits records in flight.
     */
    private final class ImageStream {
        private final java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
        private final java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();

        ImageStream(KafkaProducer<byte[], byte[]> producer, String topic, SceneGenerator scenes, int from, int to, long intervalMillis) {
            Thread t = new Thread(() -> {
                try {
                    for (int i = from; i < to; i++) {
                        byte[] bytes = scenes.sample(i).encoded();
                        if (corrupt(i)) {
                            bytes = Arrays.copyOf(bytes, 24);
                        }
                        producer.send(new ProducerRecord<>(topic, id(i).getBytes(StandardCharsets.UTF_8), bytes)).get();
                        sent.incrementAndGet();
                        Thread.sleep(intervalMillis);
                    }
                    done.complete(null);
                } catch (Exception e) {
                    done.completeExceptionally(e);
                }
            }, "cluster-test-images-" + from);
            t.setDaemon(true);
            t.start();
            progress("sending images " + from + ".." + (to - 1) + ", one every " + intervalMillis + " ms");
        }

        int sent() {
            return sent.get();
        }

        void await() throws Exception {
            done.get(remaining(), java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    private static boolean hasOutcomes(OutcomeReader reader, int from, int to) {
        Map<String, List<OutcomeReader.Outcome>> byId = reader.byId();
        for (int i = from; i < to; i++) {
            if (!byId.containsKey(id(i))) {
                return false;
            }
        }
        return true;
    }

    private static long firstAfter(OutcomeReader reader, long t) {
        return reader.outcomes().stream().mapToLong(OutcomeReader.Outcome::atMillis).filter(x -> x > t).min().orElse(t);
    }

    /** --model, else the built-in model, else a tiny random model of the built-in architecture. */
    private Path resolveModel(Path home) throws IOException {
        if (model != null) {
            Path m = model.toAbsolutePath();
            if (!Files.isRegularFile(m.resolve(VisionLanguageModel.CONFIG))) {
                throw new IllegalArgumentException("--model " + m + " holds no " + VisionLanguageModel.CONFIG);
            }
            facts.add("model dir : " + m);
            return m;
        }
        Path builtIn = home.resolve(Installation.BUILT_IN_MODEL);
        if (Files.isRegularFile(builtIn.resolve(VisionLanguageModel.CONFIG))) {
            facts.add("model dir : " + builtIn + " (built-in)");
            return builtIn;
        }
        Path dir = tmp.resolve("model");
        long t = System.currentTimeMillis();
        writeTinyRandomModel(dir);
        progress("no built-in model at " + builtIn + ": wrote a tiny random model to " + dir + " in "
                + secs(System.currentTimeMillis() - t));
        facts.add("model dir : " + dir + " (tiny random model of the built-in architecture; captions are noise)");
        return dir;
    }

    /** The built-in architecture at a tiny size with random weights, saved like a real checkpoint. */
    static void writeTinyRandomModel(Path dir) throws IOException {
        System.setProperty("ai.djl.offline", "true");
        if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_threads", "1");
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
        ScenesModel.writeRandom(dir, ScenesModel.tinyConfig(), 11);
    }

    // ================================================================================ waiting

    /** Milliseconds left before --timeout; fails once it has passed. */
    private long remaining() {
        return readiness.remaining();
    }

    /** Waits for readiness or a result, with the run's one deadline ({@link Readiness}). */
    private void awaitCondition(String what, Readiness.Condition condition) throws Exception {
        readiness.await(what, condition);
    }

    private double firstLoad = -1;
    private double highestLoad = -1;

    private void noteLoad() {
        double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        if (firstLoad < 0) {
            firstLoad = load;
        }
        highestLoad = Math.max(highestLoad, load);
    }

    /** The one-minute load average of this machine, for the report. */
    static String loadAverage() {
        double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return load < 0 ? "unknown" : String.format("%.1f", load);
    }

    /** Fails when a process of the cluster has exited, unless the test killed it on purpose. */
    private void checkProcesses() {
        List<JvmProcess> needed;
        synchronized (processes) {
            needed = new ArrayList<>(processes);
        }
        needed.removeAll(killed);
        for (JvmProcess p : needed) {
            if (!p.alive()) {
                throw new IllegalStateException(p.name + " exited: " + tail(p.output, 20));
            }
        }
    }

    // ================================================================================ report

    private void pass(String name, String detail) {
        record("PASS", name, detail);
    }

    private void warn(String name, String detail) {
        record("WARN", name, detail);
    }

    private void fail(String name, String detail) {
        record("FAIL", name, detail);
    }

    private void check(boolean ok, String name, String detail) {
        record(ok ? "PASS" : "FAIL", name, detail);
    }

    private void record(String status, String name, String detail) {
        checks.add(new String[] {status, name, detail});
        progress(status + " " + name + ": " + detail);
    }

    private void progress(String message) {
        log.printf("[%7.1fs] %s%n", (System.currentTimeMillis() - t0) / 1000.0, message);
    }

    private void printReport(boolean pass) {
        PrintStream out = System.out;
        out.println();
        out.println("=================== glimpse cluster-test: " + (pass ? "PASS" : "FAIL") + " ===================");
        out.println(flinkHome != null
                ? "setup: docs/deployment.md 'On an existing Flink installation' on " + flinkHome.toAbsolutePath().normalize()
                        + ": Kafka broker (KRaft) + JobManager + 1 TaskManager (1 slot) as separate JVMs on " + HOST + "; " + images
                        + " images; parallelism 1 (decode, inference)"
                : "setup: Kafka broker (KRaft) + Flink JobManager + 2 TaskManagers as separate JVMs on " + HOST
                        + "; " + images + " images; parallelism 2 (decode, inference)");
        facts.forEach(f -> out.println("  " + f));
        out.println("timings:");
        timings.forEach((k, v) -> out.printf("  %-55s %s%n", k, v));
        out.printf("  %-55s %s%n", "total", secs(System.currentTimeMillis() - t0));
        out.printf("  %-55s %.1f at the first wait, %.1f at the highest%n", "load average (1 min)", firstLoad, highestLoad);
        out.println("checks:");
        for (String[] c : checks) {
            out.printf("  [%s] %s: %s%n", c[0], c[1], c[2]);
        }
        long failed = checks.stream().filter(c -> c[0].equals("FAIL")).count();
        long warned = checks.stream().filter(c -> c[0].equals("WARN")).count();
        out.println("result: " + (pass ? "PASS" : "FAIL") + " (" + (checks.size() - failed - warned) + " passed, "
                + warned + " warnings, " + failed + " failed)");
    }

    /** On failure: the errors of each process's log, so the report explains itself. */
    private void printLogExcerpts() {
        if (logs == null || !Files.isDirectory(logs)) {
            return;
        }
        try (Stream<Path> files = Files.list(logs)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".log") || p.toString().endsWith(".out")).sorted().toList()) {
                List<String> errors = Files.readAllLines(f, StandardCharsets.ISO_8859_1).stream()
                        .filter(l -> l.contains(" ERROR ") || l.contains("Exception:") || l.startsWith("Caused by"))
                        .limit(8).toList();
                if (!errors.isEmpty()) {
                    System.out.println("--- " + f.getFileName() + " (first errors)");
                    errors.forEach(l -> System.out.println("  " + (l.length() > 300 ? l.substring(0, 300) + "..." : l)));
                }
            }
        } catch (IOException e) {
            System.out.println("cannot read logs: " + e);
        }
    }

    // ================================================================================ utilities

    private Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000));
    }

    private Path mkdirs(String name) throws IOException {
        return Files.createDirectories(tmp.resolve(name));
    }

    static Path clusterJar(Path distTarget) throws IOException {
        if (Files.isDirectory(distTarget)) {
            try (Stream<Path> s = Files.list(distTarget)) {
                List<Path> jars = s.filter(p -> p.getFileName().toString().matches("glimpse-job-.*-cluster\\.jar")).toList();
                if (jars.size() == 1) {
                    return jars.get(0);
                }
            }
        }
        throw new IllegalStateException("no single glimpse-job-*-cluster.jar in " + distTarget + " (run mvn package)");
    }

    static String summarizeLib(List<Path> lib, Path djlDir) {
        Map<String, Integer> groups = new LinkedHashMap<>();
        for (Path jar : lib) {
            String n = jar.getFileName().toString();
            String g = jar.startsWith(djlDir) ? "dist/target/flink-lib" : n.startsWith("flink-") ? "Flink"
                    : n.startsWith("log4j") || n.startsWith("slf4j") ? "logging" : "Flink's dependencies";
            groups.merge(g, 1, Integer::sum);
        }
        return groups.toString();
    }


    static int countLines(Path file, String needle) {
        if (!Files.exists(file)) {
            return 0;
        }
        try (Stream<String> lines = Files.lines(file, StandardCharsets.ISO_8859_1)) {
            return (int) lines.filter(l -> l.contains(needle)).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String tail(Path file, int n) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.ISO_8859_1);
            return "\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    static String secs(long millis) {
        return String.format("%.1f s", millis / 1000.0);
    }

    private static String abbreviate(List<String> items) {
        return items.size() <= 8 ? items.toString() : items.subList(0, 8) + " and " + (items.size() - 8) + " more";
    }

    static void deleteTree(Path dir) {
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("cluster-test: could not delete " + dir + ": " + e);
        }
    }

    /** Durations as 90s, 20m, 1h or ISO-8601 (PT20M). */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            String v = value.trim().toLowerCase(java.util.Locale.ROOT);
            if (v.startsWith("pt") || v.startsWith("p")) {
                return Duration.parse(value.trim().toUpperCase(java.util.Locale.ROOT));
            }
            Matcher m = Pattern.compile("(\\d+)\\s*(ms|s|m|min|h)?").matcher(v);
            if (!m.matches()) {
                throw new CommandLine.TypeConversionException("not a duration: " + value + " (e.g. 90s, 20m, PT1H)");
            }
            long n = Long.parseLong(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            return switch (unit) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m", "min" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            };
        }
    }
}
