package dev.ferry.harness;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** `--name value` options and bare `--flag`s; anything else is positional. Unknown options are errors. */
final class Args {
    private final Map<String, String> values = new HashMap<>();
    private final List<String> positional = new ArrayList<>();

    Args(List<String> argv, Set<String> flags, Set<String> options) {
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            if (!a.startsWith("--")) {
                positional.add(a);
                continue;
            }
            String name = a.substring(2);
            String inline = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                inline = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (flags.contains(name)) {
                values.put(name, inline == null ? "true" : inline);
            } else if (options.contains(name)) {
                if (inline == null) {
                    if (i + 1 >= argv.size()) {
                        throw new Main.UsageException("--" + name + " needs a value");
                    }
                    inline = argv.get(++i);
                }
                values.put(name, inline);
            } else {
                throw new Main.UsageException("unknown option --" + name);
            }
        }
    }

    List<String> positional() {
        return positional;
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    boolean flag(String name) {
        return Boolean.parseBoolean(values.getOrDefault(name, "false"));
    }

    String str(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new Main.UsageException("--" + name + " is required");
        }
        return v;
    }

    String str(String name, String dflt) {
        return values.getOrDefault(name, dflt);
    }

    int integer(String name) {
        return Integer.parseInt(str(name));
    }

    int integer(String name, int dflt) {
        return has(name) ? integer(name) : dflt;
    }
}
