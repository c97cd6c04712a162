package org.jnetfilter.io;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A cursor over the packets of a capture file, classic pcap or pcapng, read as a stream in
 * constant memory. {@link #next()} moves to the next packet; the accessors then describe it
 * until the following call:
 *
 * <pre>{@code
 * try (CaptureReader capture = CaptureReader.open(path, "eth0")) {
 *     while (capture.next()) {
 *         datapath.receive(capture.interfaceName(), capture.linkType(), capture.packet());
 *     }
 * }
 * }</pre>
 *
 * <p>Contract: one thread; the reader reuses its buffer, so {@link #packet()} is a view that is
 * overwritten by the next call to {@code next()} (copy what you keep). No allocation per packet
 * except the small view object {@code packet()} returns. Interface names are allocated once per
 * interface, not per packet.
 */
public interface CaptureReader extends AutoCloseable {

    /** Opens a file, detecting its format by magic number. */
    static CaptureReader open(Path file, String defaultInterfaceName) throws IOException, CaptureFormatException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return open(channel, defaultInterfaceName);
        } catch (IOException | CaptureFormatException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    static CaptureReader open(InputStream in, String defaultInterfaceName) throws IOException, CaptureFormatException {
        return open(Channels.newChannel(in), defaultInterfaceName);
    }

    /**
     * Reads from a channel, detecting the format by its first four bytes: the pcapng Section
     * Header Block type {@code 0x0A0D0D0A}, or one of the four classic pcap magics
     * (microsecond or nanosecond, either byte order). Closing the reader closes the channel.
     *
     * @param defaultInterfaceName the name reported for packets whose file does not name their
     *     interface: every packet of a classic pcap file, and pcapng interfaces without if_name
     */
    static CaptureReader open(ReadableByteChannel channel, String defaultInterfaceName)
            throws IOException, CaptureFormatException {
        CaptureInput input = new CaptureInput(channel);
        int got = input.fill(4);
        if (got < 4) {
            throw new CaptureFormatException(0, "truncated capture header at offset 0: 4 bytes needed, " + got
                    + " present");
        }
        if (input.i32(0, ByteOrder.BIG_ENDIAN) == PcapngReader.SHB_TYPE) {
            return new PcapngReader(input, defaultInterfaceName);
        }
        return new PcapReader(input, defaultInterfaceName);
    }

    /**
     * Moves to the next packet. Returns false at the end of the input, when it ends exactly
     * after a complete record; a partial record is a {@link CaptureFormatException}.
     */
    boolean next() throws IOException, CaptureFormatException;

    /** Interface index: the pcapng interface id within its section; 0 for classic pcap. */
    int interfaceIndex();

    /** The pcapng if_name option, or the default name given when the reader was opened. */
    String interfaceName();

    /** LINKTYPE_* of the packet's interface; see {@link LinkType}. */
    int linkType();

    /** Capture time in nanoseconds since the Unix epoch; 0 for pcapng Simple Packet Blocks. */
    long timestampNanos();

    /** Length of the packet on the wire, possibly more than was captured. */
    int originalLength();

    /** Number of bytes captured, the size of {@link #packet()}. */
    int capturedLength();

    /**
     * The captured bytes: a view into the reader's buffer, valid until the next call to
     * {@link #next()}. Writing to it changes only the buffer, never the file.
     */
    MemorySegment packet();

    /** Copies the captured bytes into {@code dst} at {@code offset}, without allocating. */
    void copyPacket(byte[] dst, int offset);

    /** Byte offset of the current record (pcap record header or pcapng block) in the input. */
    long recordOffset();

    @Override
    void close() throws IOException;
}
