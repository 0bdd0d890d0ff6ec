package dev.glimpse.connectors;

import java.util.Locale;

/** What never appears in a log or an output: the values of settings that may hold a secret. */
public final class Secrets {
    /** What a secret value is printed as. */
    public static final String MASK = "******";

    private Secrets() {}

    /** Keys whose values are never printed: passwords, JAAS configurations, tokens, keys and key stores. */
    public static boolean isSecretKey(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return k.contains("password") || k.contains("secret") || k.contains("jaas") || k.contains("token")
                || k.contains("key") || k.contains("credential");
    }
}
