package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NonPublicAddressesTest {
    @Test
    void shouldNameEveryKindOfNonPublicAddressAndPassPublicOnes() throws Exception {
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("127.0.0.1", "loopback");
        expected.put("127.255.0.9", "loopback");
        expected.put("::1", "loopback");
        expected.put("0.0.0.0", "unspecified");
        expected.put("::", "unspecified");
        expected.put("169.254.169.254", "link-local");
        expected.put("fe80::1", "link-local");
        expected.put("10.0.0.1", "private");
        expected.put("172.16.0.1", "private");
        expected.put("172.31.255.255", "private");
        expected.put("192.168.1.1", "private");
        expected.put("100.64.0.1", "carrier-grade NAT");
        expected.put("fc00::1", "unique-local");
        expected.put("fd12:3456::1", "unique-local");
        expected.put("fec0::1", "site-local");
        expected.put("224.0.0.1", "multicast");
        expected.put("ff02::1", "multicast");
        expected.put("255.255.255.255", "reserved");
        expected.put("::ffff:169.254.169.254", "link-local");
        expected.put("::127.0.0.1", "loopback");
        expected.put("64:ff9b::a9fe:a9fe", "link-local");
        expected.put("2002:7f00:1::", "loopback");
        expected.put("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo");
        expected.put("8.8.8.8", null);
        expected.put("172.32.0.1", null);
        expected.put("100.128.0.1", null);
        expected.put("2a00:1450:4001:82a::200e", null);
        expected.put("::ffff:8.8.8.8", null);
        Map<String, String> actual = new LinkedHashMap<>();
        for (String a : expected.keySet()) {
            actual.put(a, NonPublicAddresses.kind(InetAddress.getByName(a)));
        }
        assertThat(actual).isEqualTo(expected);
    }
}
