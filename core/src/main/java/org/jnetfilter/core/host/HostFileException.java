package org.jnetfilter.core.host;

/** A HOST file line that cannot be applied: its number (1-based), its text, and what was wrong. */
public final class HostFileException extends Exception {
    private final int line;
    private final String text;
    private final String problem;

    public HostFileException(String source, int line, String text, String problem) {
        super(source + ":" + line + ": " + problem + " (in `" + text.strip() + "')");
        this.line = line;
        this.text = text;
        this.problem = problem;
    }

    public int line() {
        return line;
    }

    public String text() {
        return text;
    }

    public String problem() {
        return problem;
    }
}
