import { useState } from "react";
import { Box, Static, Text, useApp, useInput } from "ink";
import type { ChatLine, ChatSession } from "./chatSession.js";

interface ShownLine extends ChatLine {
    id: number;
}

const COLORS: Record<ChatLine["kind"], string> = { user: "white", answer: "green", info: "gray", error: "red" };

function Line({ line }: { line: ChatLine }) {
    if (line.kind === "user") return <Text bold>{`> ${line.text}`}</Text>;
    const tagColor = line.tag?.startsWith("server") ? "magenta" : "cyan";
    return (
        <Text color={COLORS[line.kind]}>
            {line.tag === undefined ? "" : <Text color={tagColor}>{`[${line.tag}] `}</Text>}
            {line.text}
        </Text>
    );
}

/**
 * The terminal chat: the conversation (kept in ink's static area so it scrolls like a log), a status box
 * with the adapter, the examples and the routing, and an input line. A multiple-choice question is typed
 * on one line ("question A. … B. …").
 */
export function ChatApp({ session, greeting }: { session: ChatSession; greeting: string[] }) {
    const { exit } = useApp();
    const [lines, setLines] = useState<ShownLine[]>(() => greeting.map((text, id) => ({ id, kind: "info", text })));
    const [draft, setDraft] = useState("");
    const [busy, setBusy] = useState(false);

    const append = (more: ChatLine[]) => setLines((old) => [...old, ...more.map((line, i) => ({ ...line, id: old.length + i }))]);

    const submit = (message: string) => {
        setDraft("");
        if (message.trim() === "") return;
        append([{ kind: "user", text: message }]);
        setBusy(true);
        void session.handle(message).then(({ lines: reply, quit }) => {
            append(reply);
            setBusy(false);
            if (quit) exit();
        });
    };

    useInput((input, key) => {
        if (busy) return;
        if (key.ctrl && input === "c") exit();
        else if (key.return) submit(draft);
        else if (key.backspace || key.delete) setDraft((old) => old.slice(0, -1));
        else if (/[\r\n]$/.test(input)) {
            // pasted or fast-typed text arrives as one chunk: line breaks inside it stay in the message
            // (a multi-line question), a final one sends it
            submit((draft + input).replace(/\r\n?/g, "\n").replace(/\n$/, ""));
        } else if (!key.ctrl && !key.meta && input !== "") setDraft((old) => old + input.replace(/\r\n?/g, "\n"));
    });

    return (
        <Box flexDirection="column">
            <Static items={lines}>{(line) => <Line key={line.id} line={line} />}</Static>
            <Box flexDirection="column" borderStyle="round" borderColor="gray" paddingX={1}>
                <Text>
                    <Text color="yellow">adapter </Text>
                    {session.adapterLabel}
                </Text>
                <Text>
                    <Text color="yellow">examples </Text>
                    {session.examplesLabel}
                </Text>
                <Text>
                    <Text color="yellow">routing </Text>
                    {session.routingLabel}
                </Text>
            </Box>
            <Text>
                {busy ? <Text color="gray">… thinking</Text> : <Text color="green">{"> "}</Text>}
                {busy ? "" : draft}
                {busy ? "" : <Text inverse> </Text>}
            </Text>
        </Box>
    );
}
