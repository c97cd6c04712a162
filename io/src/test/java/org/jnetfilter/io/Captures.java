package org.jnetfilter.io;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Test fixtures: in-memory channels, checked-in captures, and a reader drained into records. */
final class Captures {

    private Captures() {
    }

    /** One packet as the reader reported it, copied out of its buffer. */
    record Packet(int interfaceIndex, String interfaceName, int linkType, long timestampNanos, int originalLength,
            byte[] data) {
    }

    static byte[] resource(String name) {
        try (InputStream in = Captures.class.getResourceAsStream("/captures/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("no test resource captures/" + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static CaptureReader open(byte[] file) throws IOException, CaptureFormatException {
        return CaptureReader.open(new ByteArrayInputStream(file), "eth0");
    }

    static List<Packet> readAll(byte[] file) throws IOException, CaptureFormatException {
        try (CaptureReader reader = open(file)) {
            return drain(reader);
        }
    }

    /** For tests that know the file is well formed. */
    static List<Packet> readAllUnchecked(byte[] file) {
        try {
            return readAll(file);
        } catch (IOException | CaptureFormatException e) {
            throw new AssertionError(e);
        }
    }

    static List<Packet> drain(CaptureReader reader) throws IOException, CaptureFormatException {
        List<Packet> packets = new ArrayList<>();
        while (reader.next()) {
            byte[] data = new byte[reader.capturedLength()];
            reader.copyPacket(data, 0);
            packets.add(new Packet(reader.interfaceIndex(), reader.interfaceName(), reader.linkType(),
                    reader.timestampNanos(), reader.originalLength(), data));
        }
        return packets;
    }

    /** A sink for the writers: {@code bytes()} after close. */
    static final class Sink {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final WritableByteChannel channel = Channels.newChannel(bytes);

        byte[] bytes() {
            return bytes.toByteArray();
        }
    }

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replaceAll("\\s+", ""));
    }
}
