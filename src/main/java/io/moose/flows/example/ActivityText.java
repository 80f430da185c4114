package io.moose.flows.example;

/** The parts of an activity string {@code <action>:<target>@<page>}; target and page may be absent. */
record ActivityText(String action, String target, String page) {

    static ActivityText parse(String activity) {
        int at = activity.lastIndexOf('@');
        String page = at >= 0 ? activity.substring(at + 1) : "";
        String head = at >= 0 ? activity.substring(0, at) : activity;
        int colon = head.indexOf(':');
        String action = colon >= 0 ? head.substring(0, colon) : head;
        String target = colon >= 0 ? head.substring(colon + 1) : "";
        if (action.isBlank()) {
            throw new IllegalArgumentException("activity '" + activity + "' has no action; expected <action>:<target>@<page>");
        }
        return new ActivityText(action.trim(), target.trim(), page.trim());
    }
}
