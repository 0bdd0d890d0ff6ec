package dev.glimpse.connectors.reprocess;

import java.io.IOException;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.formats.parquet.ParquetBuilder;
import org.apache.flink.formats.parquet.ParquetWriterFactory;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.BasePathBucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.OutputFile;

/**
 * Flink's {@code FileSink} with flink-parquet's bulk writer, one per table of a {@code parquet:DIR/}
 * sink. A bulk format can only roll its part files on checkpoints: each writer's part file of a
 * checkpoint is committed (made visible) when the checkpoint completes, which is also what makes
 * it a whole Parquet file with its footer. Snappy, which every Parquet reader takes.
 */
final class ParquetOutcomeSinks {
    private ParquetOutcomeSinks() {}

    static FileSink<OutputLine> fileSink(String dirUri, ParquetOutcomeTable table) {
        ParquetBuilder<OutputLine> writers = out -> writer(out, table);
        return FileSink.forBulkFormat(new Path(dirUri + table.folder()), new ParquetWriterFactory<>(writers))
                .withBucketAssigner(new BasePathBucketAssigner<>())
                .withRollingPolicy(OnCheckpointRollingPolicy.build())
                .withOutputFileConfig(OutputFileConfig.builder().withPartPrefix("part").withPartSuffix(".parquet").build())
                .build();
    }

    /** One part file's writer: the table's schema, Snappy. */
    static ParquetWriter<OutputLine> writer(OutputFile out, ParquetOutcomeTable table) throws IOException {
        return new Writer(out, table).withCompressionCodec(CompressionCodecName.SNAPPY).build();
    }

    /** parquet-hadoop's writer with the table's JSON-to-row support. */
    private static final class Writer extends ParquetWriter.Builder<OutputLine, Writer> {
        private final ParquetOutcomeTable table;

        Writer(OutputFile file, ParquetOutcomeTable table) {
            super(file);
            this.table = table;
        }

        @Override
        protected Writer self() {
            return this;
        }

        @Override
        protected WriteSupport<OutputLine> getWriteSupport(Configuration conf) {
            return new JsonParquetWriteSupport(table);
        }

        @Override
        protected WriteSupport<OutputLine> getWriteSupport(ParquetConfiguration conf) {
            return new JsonParquetWriteSupport(table);
        }
    }
}
