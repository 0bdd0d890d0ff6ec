package dev.glimpse.operators;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;

/**
 * Addresses a uri fetch must not reach unless {@code decoder.allow-private-addresses} is set: the
 * machine itself, its link (cloud metadata at 169.254.169.254), private networks and anything that
 * is not one public host. IPv6 forms that carry an IPv4 address are judged by that address.
 */
final class NonPublicAddresses {
    private NonPublicAddresses() {}

    /** What kind of non-public address {@code a} is ("loopback", "private", ...), or null for a public one. */
    static String kind(InetAddress a) {
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) {
            return kindV4(b);
        }
        if (a instanceof Inet6Address) {
            return kindV6(b);
        }
        return "unknown";
    }

    private static String kindV4(byte[] b) {
        int o0 = b[0] & 0xff;
        int o1 = b[1] & 0xff;
        if (o0 == 0) {
            return "unspecified";
        }
        if (o0 == 127) {
            return "loopback";
        }
        if (o0 == 169 && o1 == 254) {
            return "link-local";
        }
        if (o0 == 10 || (o0 == 172 && (o1 & 0xf0) == 16) || (o0 == 192 && o1 == 168)) {
            return "private";
        }
        if (o0 == 100 && (o1 & 0xc0) == 64) {
            return "carrier-grade NAT";
        }
        if (o0 == 192 && o1 == 0 && (b[2] & 0xff) == 0) {
            return "reserved";
        }
        if (o0 == 198 && (o1 & 0xfe) == 18) {
            return "reserved";
        }
        if (o0 >= 224 && o0 <= 239) {
            return "multicast";
        }
        if (o0 >= 240) {
            return "reserved";
        }
        return null;
    }

    private static String kindV6(byte[] b) {
        boolean firstTenZero = true;
        for (int i = 0; i < 10; i++) {
            firstTenZero &= b[i] == 0;
        }
        if (firstTenZero && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
            return kindV4(tail(b, 12)); // ::ffff:a.b.c.d, IPv4-mapped
        }
        if (firstTenZero && b[10] == 0 && b[11] == 0) {
            boolean firstFifteenZero = b[12] == 0 && b[13] == 0 && b[14] == 0;
            if (firstFifteenZero && b[15] == 0) {
                return "unspecified";
            }
            if (firstFifteenZero && b[15] == 1) {
                return "loopback";
            }
            return kindV4(tail(b, 12)); // ::a.b.c.d, IPv4-compatible
        }
        int w0 = ((b[0] & 0xff) << 8) | (b[1] & 0xff);
        int w1 = ((b[2] & 0xff) << 8) | (b[3] & 0xff);
        if (w0 == 0x0064 && w1 == 0xff9b) {
            return kindV4(tail(b, 12)); // 64:ff9b::/96 and 64:ff9b:1::/48, NAT64
        }
        if (w0 == 0x2002) {
            return kindV4(new byte[] {b[2], b[3], b[4], b[5]}); // 2002::/16, 6to4
        }
        if ((w0 & 0xffc0) == 0xfe80) {
            return "link-local";
        }
        if ((w0 & 0xffc0) == 0xfec0) {
            return "site-local";
        }
        if ((w0 & 0xfe00) == 0xfc00) {
            return "unique-local";
        }
        if ((w0 & 0xff00) == 0xff00) {
            return "multicast";
        }
        if (w0 == 0x2001 && w1 == 0x0000) {
            return "Teredo"; // the IPv4 end is obfuscated: it cannot be checked
        }
        return null;
    }

    private static byte[] tail(byte[] b, int from) {
        return new byte[] {b[from], b[from + 1], b[from + 2], b[from + 3]};
    }
}
