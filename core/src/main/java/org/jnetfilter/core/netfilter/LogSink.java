package org.jnetfilter.core.netfilter;

/**
 * Where the LOG target's lines go (the kernel's printk to the log buffer, what {@code dmesg} shows).
 * {@link #NONE} discards them. NFLOG has a sink of its own, {@link NflogSink}.
 *
 * <p>Called on the packet thread inside a table walk.
 */
public interface LogSink {
    LogSink NONE = (level, line) -> {
    };

    /** One line as the kernel logs it, without the {@code [time]} prefix; {@code level} is the syslog level 0-7. */
    void log(int level, String line);
}
