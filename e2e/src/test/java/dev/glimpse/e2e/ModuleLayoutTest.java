package dev.glimpse.e2e;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.glimpse.cli.Cli;
import dev.glimpse.cli.Subcommand;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module layout of the README's "Project layout", checked on the classes of every module: imports
 * run one way ({@code cli} → {@code job} → {@code connectors}, {@code operators} → {@code model};
 * {@code bench} and {@code e2e} beside them), the model knows no Flink, and no subcommand imports the
 * command-line root. Maven keeps a module from importing one it does not depend on; this keeps the
 * dependencies themselves from drifting.
 */
class ModuleLayoutTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.glimpse");
        assertThat(classes.stream().map(c -> c.getPackageName().split("\\.")[2]).distinct())
                .as("every module's classes are on this test's class path")
                .contains("model", "operators", "connectors", "kafka", "s3", "job", "sql", "cli", "bench", "e2e");
    }

    @Test
    void shouldImportOneWay() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("model").definedBy("dev.glimpse.model..")
                .layer("operators").definedBy("dev.glimpse.operators..")
                .layer("connectors").definedBy("dev.glimpse.connectors..")
                .layer("embedded Kafka").definedBy("dev.glimpse.kafka..")
                .layer("embedded S3").definedBy("dev.glimpse.s3..")
                .layer("job").definedBy("dev.glimpse.job..")
                .layer("sql").definedBy("dev.glimpse.sql..")
                .layer("cli").definedBy("dev.glimpse.cli..")
                .layer("bench").definedBy("dev.glimpse.bench..")
                .layer("e2e").definedBy("dev.glimpse.e2e..")
                .whereLayer("bench").mayNotBeAccessedByAnyLayer()
                .whereLayer("e2e").mayNotBeAccessedByAnyLayer()
                .whereLayer("cli").mayOnlyBeAccessedByLayers("bench", "e2e")
                .whereLayer("embedded Kafka").mayOnlyBeAccessedByLayers("cli", "bench", "e2e")
                .whereLayer("embedded S3").mayOnlyBeAccessedByLayers("bench", "e2e")
                .whereLayer("sql").mayOnlyBeAccessedByLayers("cli", "bench", "e2e")
                .whereLayer("job").mayOnlyBeAccessedByLayers("sql", "cli", "bench", "e2e")
                .whereLayer("connectors").mayOnlyBeAccessedByLayers("job", "sql", "cli", "bench", "e2e")
                .whereLayer("operators").mayOnlyBeAccessedByLayers("connectors", "job", "sql", "cli", "bench", "e2e")
                .check(classes);
    }

    @Test
    void shouldKeepFlinkOutOfTheModel() {
        noClasses().that().resideInAPackage("dev.glimpse.model..")
                .should().dependOnClassesThat().resideInAPackage("org.apache.flink..")
                .check(classes);
    }

    @Test
    void shouldNeverLetASubcommandImportTheCommandLineRoot() {
        noClasses().that().doNotHaveFullyQualifiedName(Cli.class.getName())
                .and().doNotHaveFullyQualifiedName(Subcommand.class.getName())
                .should().dependOnClassesThat().haveFullyQualifiedName(Cli.class.getName())
                .check(classes);
    }

    @Test
    void shouldHaveNoCycleBetweenModules() {
        slices().matching("dev.glimpse.(*)..").should().beFreeOfCycles().check(classes);
    }

    @Test
    void shouldListEveryCommandOfTheModulesBesideTheCommandLineInItsOrder() {
        List<String> commands = List.copyOf(Cli.commandLine().getSubcommands().keySet());
        assertThat(commands).containsExactlyElementsOf(Cli.ORDER);
    }
}
