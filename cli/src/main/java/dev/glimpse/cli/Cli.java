package dev.glimpse.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code bin/glimpse}: the command line. Each subcommand parses, loads, runs, in a few lines. The
 * commands of the modules beside this one (bench, e2e) are found on the class path as {@link
 * Subcommand} services; {@code glimpse --help} lists every command in {@link #ORDER}.
 */
@Command(name = "glimpse", mixinStandardHelpOptions = true, version = "glimpse 0.1.0",
        description = "Streaming image captioning on Apache Flink with a vision-language model.")
public final class Cli {
    /** The order of {@code glimpse --help}; a command found but not named here comes last. */
    public static final List<String> ORDER = List.of("demo", "run", "reprocess", "caption", "scenes", "train", "eval",
            "verify-reference", "bench", "bench-reprocess", "bench-batching", "stop", "broker", "produce", "tail", "soak",
            "flink-install", "cluster-test", "gallery", "sql");

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with every command this class path holds. */
    public static CommandLine commandLine() {
        List<Object> commands = new ArrayList<>(List.of(new Demo(), new Run(), new Reprocess(), new CaptionFiles(),
                new ModelCommands.Scenes(), new ModelCommands.Train(), new ModelCommands.Eval(),
                new ModelCommands.VerifyReference(), new Stop(), new Broker(), new Produce(), new Tail(), new Gallery(), new Sql(),
                new FlinkInstall()));
        ServiceLoader.load(Subcommand.class).forEach(commands::add);
        Map<String, Object> byName = new LinkedHashMap<>();
        for (Object command : commands) {
            byName.put(command.getClass().getAnnotation(Command.class).name(), command);
        }
        CommandLine cli = new CommandLine(new Cli());
        ORDER.stream().filter(byName::containsKey).forEach(name -> cli.addSubcommand(name, byName.remove(name)));
        byName.forEach(cli::addSubcommand);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException) {
                cmd.getErr().println("glimpse: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cli;
    }
}
