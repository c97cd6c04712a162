package org.jnetfilter.iptables;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.zip.CRC32C;

/**
 * The sets of a jnetfilter without a daemon, beside the rules in the state directory: a snapshot and a
 * journal of the commands since it, as the rules have ({@link StateFiles}).
 *
 * <pre>
 *   snapshot "ipsets"                          journal "ipsets.journal", one record per command
 *   the sets in the binary form                LENGTH:int32  CRC32C:int32  PAYLOAD (LENGTH bytes):
 *   {@link IpsetCommand} writes, with its          the snapshot generation it follows, then what the
 *   generation                                     command changed (sets created, destroyed, flushed,
 *                                                  renamed, swapped; elements as they now are, or gone)
 * </pre>
 *
 * Each ipset command is one transaction under {@code ipset.lock} (the kernel serialises ipset commands on
 * its nfnetlink mutex, so there is no -w: a command waits for the lock). A command appends its record and
 * forces it to disk, so its cost does not grow with the sets' size: no set is written again. A crash leaves
 * a torn record at the end, which readers ignore and the next writer cuts off. When the journal outgrows a
 * quarter of the snapshot (or a command changed too much for a record: a restore), a new snapshot of the
 * next generation is written to a temporary file, forced and renamed, and the journal removed; records of
 * an older generation are skipped, so a crash between the two leaves the new snapshot alone.
 *
 * <p>The snapshot ends with an index of every set's elements (open addressing over their offsets), so an
 * add, del or test maps it ({@link #readMapped}) and looks up only the elements it decides on, with the
 * journal's records as an overlay: its cost does not grow with the set's size. Commands that need whole
 * sets (list, save, swap, restore, a compaction) read everything.
 */
public final class IpsetStore {
    static final String FILE = "ipsets";
    static final String JOURNAL = "ipsets.journal";
    /** The journal may grow to this size before a snapshot is written, whatever the snapshot's size. */
    static final long MIN_COMPACT_BYTES = 64 * 1024;
    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path dir;
    private final boolean journal;
    private final long minCompactBytes;

    public IpsetStore(Path dir) {
        this(dir, true);
    }

    /** {@code journal} false: every change writes a snapshot (the reference the journal is tested against). */
    IpsetStore(Path dir, boolean journal) {
        this(dir, journal, MIN_COMPACT_BYTES);
    }

    /** {@code minCompactBytes}: the journal's size a snapshot is always allowed to wait for (tests make it small). */
    IpsetStore(Path dir, boolean journal, long minCompactBytes) {
        this.dir = dir;
        this.journal = journal;
        this.minCompactBytes = minCompactBytes;
    }

    /** The journal may grow to this size before a snapshot is written, whatever the snapshot's size. */
    long minCompactBytes() {
        return minCompactBytes;
    }

    /** Whether commands append journal records (else each change writes a snapshot). */
    boolean journals() {
        return journal;
    }

    public Path directory() {
        return dir;
    }

    /** A held lock; close to release. */
    public interface Held extends AutoCloseable {
        @Override
        void close();
    }

    /** Takes the ipset lock, waiting for it. */
    public Held lock() {
        try {
            Files.createDirectories(dir);
            Path lockFile = dir.resolve("ipset.lock");
            ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(lockFile.toAbsolutePath().normalize(), p -> new ReentrantLock());
            jvm.lock();
            FileChannel ch;
            FileLock fl;
            try {
                ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                fl = ch.lock();
            } catch (IOException | RuntimeException e) {
                jvm.unlock();
                throw e;
            }
            FileChannel held = ch;
            FileLock heldLock = fl;
            return () -> {
                try {
                    heldLock.release();
                    held.close();
                } catch (IOException e) {
                    throw new IllegalStateException("releasing " + lockFile, e);
                } finally {
                    jvm.unlock();
                }
            };
        } catch (IOException e) {
            throw new IllegalStateException("cannot take the ipset lock in " + dir, e);
        }
    }

    /** The stored snapshot (empty when nothing was stored). Readers without the lock see an old or a new one. */
    public byte[] read() {
        return readFile(dir.resolve(FILE));
    }

    /**
     * Answers what {@code reader} makes of the snapshot mapped read-only (an empty buffer when there is
     * none), without reading it: a command looks up the few elements it needs in place. The mapping is
     * unmapped when {@code reader} returns, so nothing of the buffer may outlive it.
     */
    public <T> T readMapped(Function<ByteBuffer, T> reader) {
        Path f = dir.resolve(FILE);
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0 || size > Integer.MAX_VALUE) {
                return reader.apply(ByteBuffer.allocate(0));
            }
            return reader.apply(ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena).asByteBuffer());
        } catch (NoSuchFileException e) {
            return reader.apply(ByteBuffer.allocate(0));
        } catch (IOException e) {
            throw new IllegalStateException("mapping " + f, e);
        }
    }

    /** The journal's bytes as they are (empty when there is none); {@link #records} reads them. */
    public byte[] readJournal() {
        return readFile(dir.resolve(JOURNAL));
    }

    private static byte[] readFile(Path f) {
        try {
            return Files.exists(f) ? Files.readAllBytes(f) : new byte[0];
        } catch (IOException e) {
            throw new IllegalStateException("reading " + f, e);
        }
    }

    /** Receives the payloads of a journal's intact records, in order. */
    public interface RecordSink {
        void record(ByteBuffer payload);
    }

    /**
     * Passes the intact records of {@code journal} to {@code sink} and answers the length they span: a
     * record cut short or failing its checksum (a crash while it was written) ends the journal.
     */
    public static long records(byte[] journal, RecordSink sink) {
        ByteBuffer b = ByteBuffer.wrap(journal);
        long valid = 0;
        while (b.remaining() >= 8) {
            int length = b.getInt();
            int crc = b.getInt();
            if (length < 0 || length > b.remaining()) {
                break;
            }
            CRC32C c = new CRC32C();
            c.update(journal, b.position(), length);
            if ((int) c.getValue() != crc) {
                break;
            }
            sink.record(ByteBuffer.wrap(journal, b.position(), length).slice());
            b.position(b.position() + length);
            valid = b.position();
        }
        return valid;
    }

    /**
     * Appends one record with {@code payload} after the first {@code validLength} bytes of the journal
     * (cutting off a torn record left by a crash) and forces it to disk. Call with the lock held.
     */
    public void append(byte[] payload, long validLength) {
        Path f = dir.resolve(JOURNAL);
        CRC32C c = new CRC32C();
        c.update(payload);
        ByteBuffer b = ByteBuffer.allocate(8 + payload.length);
        b.putInt(payload.length).putInt((int) c.getValue()).put(payload).flip();
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.truncate(validLength);
            ch.position(validLength);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(false);
        } catch (IOException e) {
            throw new IllegalStateException("appending to " + f, e);
        }
    }

    /**
     * Replaces the snapshot by {@code bytes} (a later generation than the journal's records), atomically and
     * durably, then removes the journal. Call with the lock held.
     */
    public void write(byte[] bytes) {
        Path f = dir.resolve(FILE);
        Path tmp = dir.resolve(FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        } catch (IOException e) {
            throw new IllegalStateException("writing " + tmp, e);
        }
        try {
            try {
                Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
            }
            // the new snapshot's generation already makes the journal's records stale
            Files.deleteIfExists(dir.resolve(JOURNAL));
        } catch (IOException e) {
            throw new IllegalStateException("renaming " + tmp, e);
        }
    }
}
