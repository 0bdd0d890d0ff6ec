package dev.glimpse.cli;

/**
 * A command of bin/glimpse that lives in a module beside the command line (bench, e2e): listed in that
 * module's {@code META-INF/services/dev.glimpse.cli.Subcommand} and found on the class path, so that the
 * command line imports none of them and the cluster jar carries none.
 */
public interface Subcommand {
    /** The command line's main class, for a command that starts bin/glimpse again as a child process. */
    static String mainClass() {
        return Cli.class.getName();
    }
}
