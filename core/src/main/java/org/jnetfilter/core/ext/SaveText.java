package org.jnetfilter.core.ext;

/** Strings in save output, quoted as xtables_save_string quotes them. */
public final class SaveText {
    private static final String NO_QUOTE =
            "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    private SaveText() {
    }

    /** Appends a space and the value: bare when it is only [A-Za-z0-9_-], else in double quotes. */
    public static void appendQuoted(StringBuilder sb, String value) {
        sb.append(' ');
        boolean plain = !value.isEmpty();
        for (int i = 0; i < value.length() && plain; i++) {
            plain = NO_QUOTE.indexOf(value.charAt(i)) >= 0;
        }
        if (plain) {
            sb.append(value);
            return;
        }
        sb.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\' || c == '\'') {
                sb.append('\\');
            }
            sb.append(c);
        }
        sb.append('"');
    }
}
