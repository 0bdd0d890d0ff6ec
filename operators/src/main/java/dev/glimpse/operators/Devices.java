package dev.glimpse.operators;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.Set;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Where a task captions: the GPU Flink assigned it, else the engine's first GPU, else the CPU. */
public final class Devices {
    private static final Logger LOG = LoggerFactory.getLogger(Devices.class);

    private Devices() {}

    /** {@code gpus}: the task's {@code gpu} external resources (empty where Flink assigns none). */
    public static Device pick(Set<ExternalResourceInfo> gpus) {
        if (!gpus.isEmpty()) {
            ExternalResourceInfo gpu = gpus.iterator().next();
            int index = Integer.parseInt(gpu.getProperty("index").orElse("0"));
            if (Engine.getInstance().getGpuCount() > index) {
                LOG.info("captioning on GPU {} assigned by Flink", index);
                return Device.gpu(index);
            }
            LOG.warn("Flink assigned GPU {} but the PyTorch engine sees {} GPU(s); captioning on the CPU",
                    index, Engine.getInstance().getGpuCount());
            return Device.cpu();
        }
        if (Engine.getInstance().getGpuCount() > 0) {
            LOG.info("no GPU assigned by Flink's external resources; using the engine's GPU 0");
            return Device.gpu(0);
        }
        LOG.info("no GPU available; captioning on the CPU");
        return Device.cpu();
    }
}
