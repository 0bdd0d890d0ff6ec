package dev.glimpse.sql;

import dev.glimpse.job.GlimpseConfig;
import java.util.Set;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.ResolvedCatalogModel;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.factories.ModelProviderFactory;
import org.apache.flink.table.ml.ModelProvider;

/**
 * {@code CREATE MODEL m INPUT (image BYTES) OUTPUT (caption STRING, ...) WITH ('provider' = 'glimpse',
 * 'model-dir' = '...', ...)}: Glimpse's vision-language model in Flink SQL, for {@code ML_PREDICT}.
 * Flink calls this when it plans a query that uses the model: unknown options, values the
 * configuration refuses, and INPUT or OUTPUT columns Glimpse cannot serve fail the query there, named.
 */
public final class GlimpseModelProviderFactory implements ModelProviderFactory {
    public static final String IDENTIFIER = "glimpse";

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of();
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return ModelOptions.all();
    }

    @Override
    public ModelProvider createModelProvider(Context context) {
        FactoryUtil.createModelProviderFactoryHelper(this, context).validate();
        String name = context.getObjectIdentifier().asSummaryString();
        ResolvedCatalogModel model = context.getCatalogModel();
        GlimpseConfig c = ModelOptions.config(name, model.getOptions());
        try {
            // The model folder is read here, on the client, rather than when each task opens.
            return new GlimpseModelProvider(CaptionModelSpec.of(name, c, model.getResolvedInputSchema(),
                    model.getResolvedOutputSchema()));
        } catch (IllegalArgumentException e) {
            throw new ValidationException("model " + name + ": " + e.getMessage(), e);
        }
    }
}
