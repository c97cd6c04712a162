package org.jnetfilter.core.reply;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.host.Link;

/**
 * The recording of tools/replies/record.sh: per probe the datagrams the peer sent and those the firewall
 * namespace sent back, and the host that firewall was (a0: 02:00:00:00:00:a0, 10.99.0.1/24, fd99::1/64).
 */
final class KernelRecording {
    record Probe(String name, List<byte[]> sent, List<byte[]> received) {
    }

    private KernelRecording() {
    }

    static Map<String, Probe> probes() {
        return probes(resource("/reply/kernel-replies.txt"));
    }

    /** Parses a kernel-replies.txt recording. */
    static Map<String, Probe> probes(String text) {
        Map<String, Probe> byName = new LinkedHashMap<>();
        Probe current = null;
        for (String line : text.split("\n")) {
            String[] w = line.trim().split(" ", 2);
            switch (w[0]) {
                case "probe" -> {
                    current = new Probe(w[1], new ArrayList<>(), new ArrayList<>());
                    byName.put(w[1], current);
                }
                case "sent" -> current.sent().add(HexFormat.of().parseHex(w[1]));
                case "recv" -> current.received().add(HexFormat.of().parseHex(w[1]));
                default -> {
                }
            }
        }
        return byName;
    }

    static String resource(String name) {
        try (InputStream in = KernelRecording.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The firewall namespace of the recording. */
    static Host firewall() {
        Host host = new Host();
        host.addLink("a0", Link.parseMac("02:00:00:00:00:a0"), 1500);
        host.setUp("a0", true);
        host.addAddress("a0", IpAddress.parse("10.99.0.1"), 24);
        host.addAddress("a0", IpAddress.parse("fd99::1"), 64);
        return host;
    }

    /** A copy of {@code bytes} at an offset inside a larger segment, to catch offset mistakes. */
    static MemorySegment at(int offset, byte[] bytes) {
        byte[] all = new byte[offset + bytes.length + 7];
        System.arraycopy(bytes, 0, all, offset, bytes.length);
        return MemorySegment.ofArray(all);
    }
}
