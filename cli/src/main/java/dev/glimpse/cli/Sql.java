package dev.glimpse.cli;

import dev.glimpse.job.Checkpoints;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseJob;
import dev.glimpse.job.GlimpseOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code glimpse sql -f FILE.sql}: a Flink SQL script on the local cluster, with Glimpse's model
 * provider ({@code CREATE MODEL ... WITH ('provider' = 'glimpse')}), Kafka, files, JSON and raw formats
 * at hand. Statements run in order; the {@code INSERT}s run together as one job, checkpointed as the
 * configuration says ({@code checkpoint.*}: the Kafka sinks' exactly-once commits); a {@code SELECT}
 * prints its rows.
 */
@Command(name = "sql", mixinStandardHelpOptions = true,
        description = "Run a Flink SQL script on a local Flink cluster, with the 'glimpse' model provider for "
                + "CREATE MODEL and ML_PREDICT; INSERTs run as one job until their sources end (or Ctrl-C).")
final class Sql implements Callable<Integer> {
    /** The statements whose rows are printed; the others (CREATE, SET, USE, ...) answer OK. */
    private static final Set<String> PRINTED = Set.of("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN");

    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE.sql", description = "The script.")
    Path file;

    @Option(names = "--rest-port", defaultValue = "0", description = "Web UI and REST API of the local cluster (0: a free port).")
    int restPort;

    @Option(names = "--prometheus-port", defaultValue = "0", description = "Serve the local cluster's metrics for "
            + "Prometheus on this port, all interfaces (0: none).")
    int prometheusPort;

    @Option(names = "--resume", description = "Continue from the latest retained checkpoint in the checkpoint directory.")
    boolean resume;

    @Option(names = "--from-savepoint", description = "Start from this savepoint or retained checkpoint.")
    String fromSavepoint;

    @Mixin JobOptions job;

    @Override
    public Integer call() throws Exception {
        List<String> statements = SqlStatements.split(Files.readString(file));
        GlimpseConfig c = job.load(Map.of());
        LocalCluster local = new LocalCluster(restPort, prometheusPort);
        // The planner names the operators after the plan: the same script restores the same state.
        StreamExecutionEnvironment env = local.environment(Checkpoints.restoring(GlimpseJob.checkpointing(c),
                Checkpoints.restorePoint(fromSavepoint, resume, Path.of(c.get(GlimpseOptions.CHECKPOINT_DIR))), System.err));
        StreamTableEnvironment tables = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        System.err.println("Glimpse sql: " + statements.size() + " statements from " + file + "; web UI " + local.webUi());
        StatementSet inserts = tables.createStatementSet();
        int insertCount = 0;
        for (String statement : statements) {
            String keyword = SqlStatements.keyword(statement);
            if (keyword.equals("INSERT")) {
                inserts.addInsertSql(statement);
                insertCount++;
                continue;
            }
            TableResult result = tables.executeSql(statement);
            if (PRINTED.contains(keyword)) {
                result.print();
            }
        }
        if (insertCount > 0) {
            System.err.println("running " + insertCount + " INSERT statement" + (insertCount == 1 ? "" : "s") + " as one job");
            inserts.execute().await();
        }
        return 0;
    }
}
