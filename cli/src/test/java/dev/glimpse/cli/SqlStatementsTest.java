package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SqlStatementsTest {
    @Test
    void shouldCutAtSemicolonsOutsideStringsIdentifiersAndComments() {
        assertThat(SqlStatements.split("""
                -- the images; raw bytes
                CREATE TABLE t (`a;b` STRING) WITH ('x' = 'y;z', 'q' = 'it''s;');
                /* a comment; with a semicolon */ SELECT 1;

                INSERT INTO t SELECT ';' -- trailing; comment
                """)).containsExactly(
                "-- the images; raw bytes\nCREATE TABLE t (`a;b` STRING) WITH ('x' = 'y;z', 'q' = 'it''s;')",
                "/* a comment; with a semicolon */ SELECT 1",
                "INSERT INTO t SELECT ';' -- trailing; comment");
    }

    @Test
    void shouldDropBlankAndCommentOnlyStatements() {
        assertThat(SqlStatements.split(";;\n-- nothing here\n;  ")).isEmpty();
    }

    @Test
    void shouldRefuseAnUnclosedStringNamingWhereItStarts() {
        assertThatThrownBy(() -> SqlStatements.split("SELECT 'abc")).hasMessage("unclosed ' starting at character 7");
    }
}
