package org.jnetfilter.core.ext.matches;

import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;

/** The parser the mark and connmark matches share: one mandatory, invertible {@code --mark value[/mask]}. */
final class MarkOptionParser extends OptionParser {
    /** Makes the match's data from what was parsed. */
    interface Result {
        ExtensionData of(long mark, long mask, boolean inverted);
    }

    private final Result result;
    private long mark;
    private long mask;
    private boolean inverted;

    MarkOptionParser(String extName, Result result) {
        super(extName);
        this.result = result;
    }

    @Override
    public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
        once(option);
        long[] mm = ConntrackValues.markMask(extName, option.name(), arg);
        mark = mm[0];
        mask = mm[1];
        inverted = invert;
    }

    @Override
    public ExtensionData finish(ParseContext c) {
        mandatory("mark");
        return result.of(mark, mask, inverted);
    }
}
