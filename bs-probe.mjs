import {getLlama} from "node-llama-cpp";
const llama = await getLlama({gpu:false, build:"never", skipDownload:true, maxThreads:1});
const out=[];
for (let t=0;t<=42;t++){ try{ out.push([t, llama._bindings.getBlockSizeForGgmlType(t), llama._bindings.getTypeSizeForGgmlType(t)]);}catch(e){out.push([t,"err"])} }
console.log(JSON.stringify(out));
await llama.dispose();
