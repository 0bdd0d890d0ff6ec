package dev.glimpse.connectors.reprocess;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The check that names the optional Parquet jars before a parquet:DIR/ run starts. */
class ParquetSupportTest {
    @Test
    void shouldFindEverythingOnTheTestClassPath() {
        assertThat(ParquetSupport.missing(getClass().getClassLoader())).isEmpty();
    }

    @Test
    void shouldNameTheMissingJarsAndWhereToGetThemWhenHadoopIsAbsent() {
        ClassLoader withoutHadoop = new ClassLoader(getClass().getClassLoader()) {
            @Override
            protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                if (name.startsWith("org.apache.hadoop.")) {
                    throw new ClassNotFoundException(name);
                }
                return super.loadClass(name, resolve);
            }
        };

        assertThat(ParquetSupport.missing(withoutHadoop)).hasValueSatisfying(m -> assertThat(m)
                .contains("hadoop-client-api", "hadoop-client-runtime", "mvn -B -q -Pparquet -DskipTests package",
                        "job/target/parquet-lib/")
                .doesNotContain("flink-parquet:2.2.0"));
    }
}
