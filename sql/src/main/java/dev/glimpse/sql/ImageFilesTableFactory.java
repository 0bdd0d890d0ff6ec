package dev.glimpse.sql;

import dev.glimpse.connectors.KafkaSettings;
import dev.glimpse.connectors.reprocess.FileTreeListing;
import dev.glimpse.connectors.reprocess.KafkaRange;
import dev.glimpse.connectors.reprocess.ReprocessSource;
import dev.glimpse.operators.ImageEvent;
import dev.glimpse.operators.ImageIds;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.ProviderContext;
import org.apache.flink.table.connector.source.DataStreamScanProvider;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.logical.LogicalTypeFamily;
import org.apache.flink.table.types.logical.RowType;

/**
 * {@code CREATE TABLE archive (id STRING, image BYTES) WITH ('connector' = 'glimpse-images', 'path' =
 * '/data/photos/')}: every image under a folder tree or an object-store prefix ({@code s3://...}), or
 * every line of a manifest ({@code manifest:FILE.jsonl}), as a bounded table, walked lazily by the
 * listing source of {@code bin/glimpse reprocess}. Each row's {@code image} is the JSON envelope that
 * names the file by {@code uri}: the model fetches it within its limits, and only under its {@code
 * allowed-uris} (give it the same folder), so that a row never makes it read anything else.
 */
public final class ImageFilesTableFactory implements DynamicTableSourceFactory {
    public static final String IDENTIFIER = "glimpse-images";

    static final ConfigOption<String> PATH = ConfigOptions.key("path").stringType().noDefaultValue()
            .withDescription("A folder, a file:// or Flink file system URI (s3://bucket/prefix/), or manifest:FILE.jsonl.");
    static final ConfigOption<String> EXTENSIONS = ConfigOptions.key("extensions").stringType().noDefaultValue()
            .withDescription("File extensions a folder takes, comma-separated (default: jpg,jpeg,png,gif,bmp,webp; *: every file).");

    private static final Map<String, LogicalTypeFamily> COLUMNS =
            Map.of("id", LogicalTypeFamily.CHARACTER_STRING, "image", LogicalTypeFamily.BINARY_STRING);

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(PATH);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(EXTENSIONS);
    }

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        ReadableConfig options = helper.getOptions();
        String table = context.getObjectIdentifier().asSummaryString();
        List<Column> columns = context.getCatalogTable().getResolvedSchema().getColumns();
        for (Column c : columns) {
            LogicalTypeFamily family = COLUMNS.get(c.getName().toLowerCase(Locale.ROOT));
            if (family == null || !c.getDataType().getLogicalType().is(family) || !c.isPhysical()) {
                throw new ValidationException("table " + table + ": column '" + c.getName() + "' " + c.getDataType()
                        + " is none a 'glimpse-images' table has; it has id STRING and image BYTES");
            }
        }
        Set<String> exts = FileTreeListing.extensions(options.getOptional(EXTENSIONS)
                .map(e -> Arrays.stream(e.split(",")).map(String::strip).toList()).orElse(null));
        ReprocessSource source;
        try {
            source = ReprocessSource.parse(options.get(PATH), exts, KafkaRange.parse(null, null));
        } catch (IllegalArgumentException e) {
            throw new ValidationException("table " + table + ": " + e.getMessage().replace("--from", "'path'"), e);
        }
        if (source instanceof ReprocessSource.KafkaTopic) {
            throw new ValidationException("table " + table + ": 'path' names a folder or a manifest; for a topic use "
                    + "the 'kafka' connector");
        }
        List<String> names = columns.stream().map(c -> c.getName().toLowerCase(Locale.ROOT)).toList();
        return new ImageFilesSource(source, names, (RowType) context.getCatalogTable().getResolvedSchema()
                .toPhysicalRowDataType().getLogicalType());
    }

    /** The listing as a bounded scan. */
    static final class ImageFilesSource implements ScanTableSource {
        /** The listing sources read no topic: their Kafka settings go unused. */
        private static final KafkaSettings NO_KAFKA = new KafkaSettings(Map.of(), IDENTIFIER, Duration.ofMinutes(5));

        private final ReprocessSource source;
        private final List<String> columns;
        private final RowType rowType;

        ImageFilesSource(ReprocessSource source, List<String> columns, RowType rowType) {
            this.source = source;
            this.columns = columns;
            this.rowType = rowType;
        }

        @Override
        public ChangelogMode getChangelogMode() {
            return ChangelogMode.insertOnly();
        }

        @Override
        public ScanRuntimeProvider getScanRuntimeProvider(ScanContext context) {
            return new DataStreamScanProvider() {
                @Override
                public DataStream<RowData> produceDataStream(ProviderContext provider, StreamExecutionEnvironment env) {
                    return source.stream(env, NO_KAFKA, null)
                            .map(new ToRow(columns)).returns(InternalTypeInfo.of(rowType)).name("image rows")
                            .uid(provider.generateUid("image-rows").orElse("glimpse-image-rows"));
                }

                @Override
                public boolean isBounded() {
                    return true;
                }
            };
        }

        @Override
        public DynamicTableSource copy() {
            return new ImageFilesSource(source, columns, rowType);
        }

        @Override
        public String asSummaryString() {
            return "glimpse-images " + source;
        }
    }

    /** An image's row: its id (as the job names it) and the envelope that names its file. */
    static final class ToRow implements MapFunction<ImageEvent, RowData> {
        private final List<String> columns;

        ToRow(List<String> columns) {
            this.columns = columns;
        }

        @Override
        public RowData map(ImageEvent event) {
            GenericRowData row = new GenericRowData(columns.size());
            for (int i = 0; i < columns.size(); i++) {
                row.setField(i, columns.get(i).equals("id") ? StringData.fromString(ImageIds.of(event)) : event.value);
            }
            return row;
        }
    }
}
