package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class UriPolicyTest {
    static final UriPolicy POLICY = new UriPolicy(List.of("https://Images.Example.com/thumbs/", "s3://bucket/images"));

    static boolean allowed(String uri) {
        try {
            POLICY.check(uri);
            return true;
        } catch (UriPolicy.Refused e) {
            return false;
        }
    }

    @Test
    void shouldMatchTheNormalisedFormOnly() {
        assertThat(List.of(
                "https://images.example.com/thumbs/a.png",
                "HTTPS://IMAGES.example.COM./thumbs/a.png",
                "https://images.example.com:443/thumbs/a.png",
                "https://images.example.com/thumbs/sub/../a.png",
                "https://images.example.com/thumbs/%61.png",
                "https://images.example.com/thumbs/a.png?size=small#top",
                "S3://bucket/images/x.jpg",
                "s3://bucket/images/2026/x.jpg")).allMatch(UriPolicyTest::allowed);
        assertThat(List.of(
                "https://images.example.com:8443/thumbs/a.png",
                "http://images.example.com/thumbs/a.png",
                "https://images.example.com.evil.net/thumbs/a.png",
                "https://images.example.com@evil.net/thumbs/a.png",
                "https://user:pw@images.example.com/thumbs/a.png",
                "https://evil.net/?https://images.example.com/thumbs/",
                "https://images.example.com/thumbs-private/a.png",
                "https://images.example.com/thumbs/../admin",
                "https://images.example.com/thumbs/%2e%2e/admin",
                "https://images.example.com/thumbs/..%2Fadmin",
                "https://images.example.com/thumbs%2F..%2Fadmin",
                "https://images.example.com/thumbs/a%5C..%5Cb",
                "https://images.example.com/thumbs/a%00.png",
                "https://images.example.com/thumbs\\..\\admin",
                "https://%69mages.example.com/thumbs/a.png",
                "s3://bucket/images-private/x.jpg",
                "s3://other/images/x.jpg",
                "/thumbs/a.png",
                "mailto:images@example.com")).noneMatch(UriPolicyTest::allowed);
    }

    @Test
    void shouldFetchExactlyTheLocationItChecked() throws Exception {
        assertThat(POLICY.check("HTTPS://Images.Example.com:443/thumbs/sub/../a%20b.png?x=1#f").toUri())
                .hasToString("https://images.example.com/thumbs/a%20b.png?x=1");
        assertThat(POLICY.check("https://images.example.com/thumbs/%2561.png").toUri())
                .hasToString("https://images.example.com/thumbs/%2561.png");
    }

    @Test
    void shouldRefuseAPrefixItCannotMatchSafelyNamingTheOption() {
        for (String bad : List.of("images/", "https:///no-host/", "https://h.example/?q=1", "https://u@h.example/",
                "file://host/data/", "https://h.example/../")) {
            assertThatThrownBy(() -> new UriPolicy(List.of(bad))).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("decoder.allowed-uris");
        }
    }
}
