package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

/** Which type a model is cast to, and when a cast is refused. */
class EngineDtypeTest {

    @Test
    void shouldCastAnF32ModelAndLeaveAModelAlreadyInTheTypeAlone() {
        assertThat(EngineDtype.castTarget(EngineDtype.FLOAT32, EngineDtype.BFLOAT16, Device.cpu())).isEqualTo(EngineDtype.BFLOAT16);
        assertThat(EngineDtype.castTarget(EngineDtype.FLOAT32, EngineDtype.FLOAT32, Device.cpu())).isNull();
        assertThat(EngineDtype.castTarget(EngineDtype.BFLOAT16, EngineDtype.BFLOAT16, Device.cpu())).isNull();
        EngineDtype auto = EngineDtype.cpuHasBf16() ? EngineDtype.BFLOAT16 : null;
        assertThat(EngineDtype.castTarget(EngineDtype.FLOAT32, EngineDtype.AUTO, Device.cpu())).isEqualTo(auto);
    }

    @Test
    void shouldRefuseToCastALowPrecisionModelToAnotherTypeSayingToLoadItAgain() {
        assertThatThrownBy(() -> EngineDtype.castTarget(EngineDtype.BFLOAT16, EngineDtype.FLOAT32, Device.cpu()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("the model is held in bfloat16 already; load it again for float32");
        assertThatThrownBy(() -> EngineDtype.castTarget(EngineDtype.FLOAT16, EngineDtype.BFLOAT16, Device.cpu()))
                .hasMessageContaining("held in float16 already");
    }

    @Test
    void shouldParseTheConfigurationsSpellingsAndNameTheChoicesOtherwise() {
        assertThat(EngineDtype.parse(" BFloat16 ")).isEqualTo(EngineDtype.BFLOAT16);
        assertThatThrownBy(() -> EngineDtype.parse("bf16"))
                .hasMessage("dtype must be float32, bfloat16, float16 or auto; got 'bf16'");
    }
}
