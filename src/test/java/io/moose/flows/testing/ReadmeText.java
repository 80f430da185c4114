package io.moose.flows.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

/** The README's sections and fenced blocks, for tests that run its commands as written. */
public final class ReadmeText {

    private ReadmeText() {
    }

    /** From a heading line to the next heading of any level. */
    public static String section(String markdown, String heading) {
        int start = markdown.indexOf("\n" + heading + "\n");
        assertTrue(start >= 0, "README has a section " + heading);
        int body = start + heading.length() + 2;
        int end = markdown.indexOf("\n#", body);
        return markdown.substring(body, end < 0 ? markdown.length() : end);
    }

    /** The first fenced block of {@code section}. */
    public static String fencedBlock(String section) {
        List<String> blocks = fencedBlocks(section);
        assertTrue(!blocks.isEmpty(), "a fenced block in " + section);
        return blocks.get(0);
    }

    /** Every fenced block of {@code section}, in order. */
    public static List<String> fencedBlocks(String section) {
        List<String> blocks = new ArrayList<>();
        for (int open = section.indexOf("```"); open >= 0; ) {
            int start = section.indexOf('\n', open) + 1;
            int close = section.indexOf("```", start);
            if (start <= 0 || close < 0) {
                break;
            }
            blocks.add(section.substring(start, close));
            open = section.indexOf("```", close + 3);
        }
        return blocks;
    }

    /** The block's non-empty lines, stripped. */
    public static List<String> shellLines(String block) {
        return block.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    /** The block's lines that start with {@code prefix}, without their trailing {@code # comment}. */
    public static List<String> commands(String block, String prefix) {
        List<String> commands = new ArrayList<>();
        for (String line : shellLines(block)) {
            if (line.startsWith(prefix)) {
                int comment = line.indexOf(" #");
                commands.add((comment < 0 ? line : line.substring(0, comment)).strip());
            }
        }
        return commands;
    }
}
